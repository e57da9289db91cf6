-- wrk script: small non-streaming Anthropic Messages request.
-- wrk -t2 -c64 -d10s -s cmd/llmsim/testdata/post_anthropic.lua http://127.0.0.1:8090
wrk.method = "POST"
wrk.path = "/v1/messages"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "sk-sim"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.body = '{"model":"claude-3-5-haiku-latest","max_tokens":64,"system":"You are a career coach.","messages":[{"role":"user","content":"What should I learn next to become a staff engineer?"}]}'

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
