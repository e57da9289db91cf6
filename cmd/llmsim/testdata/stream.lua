-- wrk script: small streaming OpenAI chat completion with usage.
-- wrk -t2 -c64 -d10s -s cmd/llmsim/testdata/stream.lua http://127.0.0.1:8090
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What should I learn next to become a staff engineer?"}],"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}'
