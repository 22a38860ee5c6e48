-- wrk script: replay pre-built raw HTTP/1.1 requests in rotation.
-- The harness writes the requests file as records "<byte length>\n<raw request bytes>" and passes
-- its path after `--`. Each wrk thread starts at a different offset. A workload may append Lua
-- that redefines request() / response() (e.g. receive, then delete what was received).
-- Every occurrence of the 12-character marker SEQ (harness/requests.py) is replaced by a 12-digit
-- number unique to each request sent (the harness passes each wrk run's number as the 2nd arg), so one pre-built request can create a million keys.

local SEQ = "Zseq00000000"
local reqs = {}
local pieces = {}  -- per request with the marker: its text split at each occurrence (nil: none)
local index = 1
local seq = 0
local thread_count = 0
local threads = {}
units = nil  -- a dynamic flow may count what it moves here (messages deleted, records read)

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
  threads[#threads + 1] = thread
end

-- The text split at each occurrence of the marker (nil when there is none): a request is then the
-- pieces joined by its number, with no scan of its text (a PutItem's is ~1.2 KiB).
local function split(raw)
  local parts, pos = {}, 1
  while true do
    local i, j = raw:find(SEQ, pos, true)
    if not i then break end
    parts[#parts + 1] = raw:sub(pos, i - 1)
    pos = j + 1
  end
  if #parts == 0 then return nil end
  parts[#parts + 1] = raw:sub(pos)
  return parts
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    reqs[#reqs + 1] = data:sub(nl + 1, nl + len)
    pieces[#reqs] = split(reqs[#reqs])
    pos = nl + len + 1
  end
  index = ((thread_id or 0) * 7919) % #reqs + 1
  -- thread (1 digit) + wrk run within the harness process (2 digits) + 9 digits of count
  seq = (thread_id or 0) * 100000000000 + tonumber(args[2] or "0") * 1000000000
end

-- Request i, each marker in it replaced by the next number.
function numbered(i)
  local parts = pieces[i]
  if not parts then return reqs[i] end
  seq = seq + 1
  return table.concat(parts, string.format("%012d", seq))
end

function request()
  local i = index
  index = index % #reqs + 1
  return numbered(i)
end

-- For dynamic flows (a workload's extra Lua): `reqs` holds the pre-built requests in the order the
-- workload built them; substitute() puts a value from an earlier response into a template
-- request's body in place of a placeholder, and fixes its Content-Length.
function substitute(raw, placeholder, value)
  local head, body = raw:match("^(.-\r\n\r\n)(.*)$")
  local i, j = body:find(placeholder, 1, true)
  body = body:sub(1, i - 1) .. value .. body:sub(j + 1)
  head = head:gsub("\r\n[Cc]ontent%-[Ll]ength: %d+\r\n", "\r\nContent-Length: " .. #body .. "\r\n", 1)
  return head .. body
end

function done(summary, latency, requests)
  local e = summary.errors
  local counted = -1  -- -1: the flow counts no units
  for _, thread in ipairs(threads) do
    local n = thread:get("units")
    if n ~= nil then counted = math.max(counted, 0) + n end
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"units":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, counted,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
