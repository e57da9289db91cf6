-- wrk script: small non-streaming OpenAI chat completion.
-- wrk -t2 -c64 -d10s -s cmd/llmsim/testdata/post.lua http://127.0.0.1:8090
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-sim"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a career coach."},{"role":"user","content":"What should I learn next to become a staff engineer?"}],"max_tokens":64,"temperature":0.2}'

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
