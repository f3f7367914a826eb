-- wrk script: each request confirms the next link from BENCH_TOKENS (one path per line, as
-- written in the confirmation emails). Run with -t1 so every connection shares the list.
local tokens = {}
init = function(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
end
local i = 0
request = function()
  i = i + 1
  local path = tokens[i] or "/healthz"
  return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, "")
end
