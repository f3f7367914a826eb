-- wrk script: a campaign peak. Nine requests in ten read (the page, the count a watching page
-- polls, the JSON), one in ten signs with a fresh address.
local prefix = os.getenv("BENCH_PREFIX") or "m"
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
local n = 0
local reads = {
  "/petitions/un-secretary-general-free-the-prisoners",
  "/api/v1/petitions/un-secretary-general-free-the-prisoners?fields=count",
  "/petitions/un-secretary-general-free-the-prisoners",
  "/api/v1/petitions/osce-moscow-mechanism",
  "/petitions/osce-moscow-mechanism?lang=hy",
  "/api/v1/petitions/un-secretary-general-free-the-prisoners?fields=count",
  "/petitions/un-secretary-general-free-the-prisoners",
  "/petitions/osce-moscow-mechanism",
  "/api/v1/petitions/un-secretary-general-free-the-prisoners?fields=count",
}
request = function()
  n = n + 1
  if n % 10 == 0 then
    local body = "name=Bench+Signer&email=" .. prefix .. "-" .. tid .. "-" .. n ..
      "%40example.org&country=AM&consent=yes&public=yes"
    return wrk.format("POST", "/petitions/bench/sign",
      { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  end
  return wrk.format("GET", reads[(n % 10)], { ["Accept-Encoding"] = "gzip, br" })
end
