-- wrk script for bench/analytics.ts: real browser User-Agents and a few
-- paths and referrers in rotation, so the analytics flusher parses and
-- hashes varied clients (not one cached User-Agent). With an argument N,
-- requests also come from N client addresses in rotation (in X-Forwarded-For;
-- the server must trust it): with N = 10000 no two requests within a second
-- share a row.
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}
local paths = { "/", "/about.html", "/", "/missing" }
local referrers = { "https://news.example.com/item", "https://search.example.org/?q=fazt", "" }
local n = 0
local clients = 0

init = function(args)
  clients = tonumber(args[1] or "0")
  -- Each wrk thread counts from its own start, so threads do not move in step.
  n = math.random(0, 2 ^ 24)
end

request = function()
  n = n + 1
  local headers = { ["User-Agent"] = agents[n % #agents + 1] }
  local ref = referrers[n % #referrers + 1]
  if ref ~= "" then headers["Referer"] = ref end
  if clients > 0 then
    -- A client keeps its User-Agent: N clients are N visitors.
    local c = n % clients
    headers["User-Agent"] = agents[c % #agents + 1]
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(c / 65536) % 256, math.floor(c / 256) % 256, c % 256)
  end
  return wrk.format("GET", paths[n % #paths + 1], headers)
end
