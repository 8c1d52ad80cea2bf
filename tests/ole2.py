"""A minimal writer of OLE2 compound files (CFB version 3), for tests of what uploads accept.

Real Word and Excel 97–2003 files are compound files whose streams are named ``WordDocument`` or
``Workbook``; their macros live in storages (``Macros``, ``_VBA_PROJECT_CUR``). Each stream is padded
to 4,096 bytes so that none goes into the mini stream; every name is a direct child of its storage,
linked as a chain of right siblings (olefile reads that).
"""

import struct

SECTOR = 512
FREE, END, FAT_SECTOR, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
MIN_STREAM = 4096


def make_ole2(streams: dict[str, bytes]) -> bytes:
    """``{"WordDocument": b"...", "Macros/VBA/dir": b"..."}`` → the bytes of a compound file."""
    entries = [{"name": "Root Entry", "type": 5, "children": [], "data": b""}]
    storages = {"": 0}
    for path, data in streams.items():
        parts = path.split("/")
        parent = ""
        for depth, part in enumerate(parts):
            key = "/".join(parts[: depth + 1])
            if depth < len(parts) - 1:
                if key not in storages:
                    storages[key] = len(entries)
                    entries[storages[parent]]["children"].append(len(entries))
                    entries.append({"name": part, "type": 1, "children": [], "data": b""})
            else:
                entries[storages[parent]]["children"].append(len(entries))
                entries.append({"name": part, "type": 2, "children": [], "data": data.ljust(MIN_STREAM, b"\0")})
            parent = key
    directory_sectors = (len(entries) + 3) // 4
    fat = [FAT_SECTOR] + [i + 1 if i < directory_sectors else END for i in range(1, directory_sectors + 1)]
    body = b""
    for entry in entries:
        if entry["type"] == 2:
            count = (len(entry["data"]) + SECTOR - 1) // SECTOR
            entry["start"] = len(fat)
            fat += [len(fat) + i + 1 for i in range(count - 1)] + [END]
            body += entry["data"].ljust(count * SECTOR, b"\0")
        else:
            entry["start"] = END if entry["type"] == 5 else 0
    assert len(fat) <= SECTOR // 4, "too big for this writer"
    fat_bytes = struct.pack(f"<{SECTOR // 4}I", *(fat + [FREE] * (SECTOR // 4 - len(fat))))
    for entry in entries:  # children as a chain of right siblings
        entry.setdefault("right", NONE)
        kids = entry["children"]
        entry["child"] = kids[0] if kids else NONE
        for a, b in zip(kids, kids[1:], strict=False):
            entries[a]["right"] = b
    directory = b"".join(_entry(e) for e in entries)
    directory = directory.ljust(directory_sectors * SECTOR, b"\0")
    empty = _entry(None)
    directory = b"".join(
        directory[i : i + 128] if directory[i : i + 128].strip(b"\0") else empty for i in range(0, len(directory), 128)
    )
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,  # directory sectors (0 in version 3)
        1,  # FAT sectors
        1,  # first directory sector
        0,
        MIN_STREAM,
        END,  # no mini FAT
        0,
        END,  # no DIFAT sectors
        0,
    ) + struct.pack("<109I", 0, *([FREE] * 108))
    return header + fat_bytes + directory + body


def _entry(entry) -> bytes:
    if entry is None:
        return struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NONE, NONE, NONE, b"\0" * 16, 0, 0, 0, 0, 0)
    name = entry["name"].encode("utf-16-le") + b"\0\0"
    size = len(entry["data"]) if entry["type"] == 2 else 0
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        entry["type"],
        1,
        NONE,
        entry["right"],
        entry["child"],
        b"\0" * 16,
        0,
        0,
        0,
        entry["start"],
        size,
    )
