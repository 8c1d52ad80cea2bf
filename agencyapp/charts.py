"""Chart geometry for server-rendered SVG (no script): the numbers drawn are the numbers given."""

from dataclasses import dataclass, field

PALETTE = ("#0017c1", "#259d63", "#b78f00", "#ce0000")  # DADS blue, green, yellow, red


@dataclass
class Bar:
    series: str
    value: float | None
    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass
class Group:
    label: str
    y: float
    bars: list = field(default_factory=list)


@dataclass
class BarChart:
    title: str
    width: int
    height: int
    plot_left: int
    plot_width: int
    max_value: float
    ticks: list
    groups: list
    legend: list  # (series name, colour)
    counts: bool = False  # the values are counts (drawn as whole numbers), not scores


def bar_chart(title, labels, series, max_value=3.0, width=720, bar_height=12, gap=14, plot_left=230, counts=False):
    """Horizontal grouped bars: one group per label, one bar per series.

    ``labels``: [(key, text)]; ``series``: [(name, {key: value or None})].
    """
    plot_width = width - plot_left - 70
    legend_height = 28
    group_height = bar_height * len(series) + gap
    groups = []
    for index, (key, text) in enumerate(labels):
        top = legend_height + index * group_height + gap / 2
        group = Group(label=text, y=top + (bar_height * len(series)) / 2)
        for position, (name, values) in enumerate(series):
            value = values.get(key)
            length = 0 if value is None else plot_width * max(0.0, min(value, max_value)) / max_value
            group.bars.append(
                Bar(
                    series=name,
                    value=value,
                    x=plot_left,
                    y=top + position * bar_height,
                    width=round(length, 1),
                    height=bar_height - 2,
                    colour=PALETTE[position % len(PALETTE)],
                )
            )
        groups.append(group)
    height = int(legend_height + len(labels) * group_height + 24)
    step = max(1, -(-int(max_value) // 5)) if counts else 1  # counts: about five gridlines whatever the total
    ticks = [(t, round(plot_left + plot_width * t / max_value, 1)) for t in range(0, int(max_value) + 1, step)]
    legend = [(name, PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(series)]
    return BarChart(title, width, height, plot_left, plot_width, max_value, ticks, groups, legend, counts)
