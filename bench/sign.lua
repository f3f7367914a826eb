-- wrk script: each request signs with a fresh address, as a real crowd would.
-- BENCH_PREFIX keeps addresses apart when several wrk processes run at once.
local prefix = os.getenv("BENCH_PREFIX") or "b"
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
local n = 0
request = function()
  n = n + 1
  local body = "name=Bench+Signer&email=" .. prefix .. "-" .. tid .. "-" .. n ..
    "%40example.org&country=AM&consent=yes&public=yes"
  return wrk.format("POST", "/petitions/bench/sign",
    { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
