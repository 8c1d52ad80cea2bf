-- wrk script: the self-check page's autosave, one answer per POST, as htmx sends it.
-- Arguments (after --): path question-number lock-version value-a value-b csrf-token answer-version
-- Each save alternates between the two values, so every request really changes the answer,
-- and carries the lock version and the answer's version the previous response returned (the page's
-- hidden fields), as the page's htmx does.
-- Meant for one connection (-t1 -c1): with more, the saves would race for the lock.

local path, number, lock, values, token, version
local turn = 0
saves = 0
refused = 0

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  path, number, lock, token, version = args[1], args[2], args[3], args[6], args[7]
  values = { args[4], args[5] }
end

function request()
  local value = values[turn % 2 + 1]
  turn = turn + 1
  local headers = {}
  for name, header in pairs(wrk.headers) do
    headers[name] = header
  end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["HX-Request"] = "true"
  headers["X-CSRFToken"] = token
  local body = "answer-" .. number .. "=" .. value .. "&note-" .. number .. "=&version-" .. number .. "="
    .. version .. "&lock_version=" .. lock
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  local moved = body and body:match('name="lock_version" value="(%d+)"')
  local answer = body and body:match('name="version%-' .. number .. '" value="(%d+)"')
  if status == 200 and moved then
    lock = moved
    if answer then version = answer end
    saves = saves + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total_saves, total_refused = 0, 0
  for _, thread in ipairs(threads) do
    total_saves = total_saves + thread:get("saves")
    total_refused = total_refused + thread:get("refused")
  end
  io.write(string.format("autosave: %d saved, %d refused\n", total_saves, total_refused))
end
