-- wrk script: each request confirms one signature through the link its email carried.
-- BENCH_TOKENS names a file of confirmation tokens, one per line (bench/run.sh collects them
-- from the emails the sign run wrote); a run longer than the list starts again at its top,
-- which then measures "already confirmed" pages, so bench/run.sh keeps the run short.
local tokens = {}
init = function(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
  end
end
local n = 0
request = function()
  n = n + 1
  local token = tokens[((n - 1) % #tokens) + 1]
  return wrk.format("POST", "/confirm/" .. token,
    { ["Content-Type"] = "application/x-www-form-urlencoded" }, "")
end
