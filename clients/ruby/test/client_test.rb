# frozen_string_literal: true

require "test_helper"

# Calls a live gateway through the client: answers, streams, deadlines.
class ClientTest < Minitest::Test
  include GatewayTest

  def test_complete_returns_a_plain_completion
    c = client.complete(route: "career_advice", messages: ask, user: "user-42", tags: { feature: "advice" },
                        max_tokens: 100, temperature: 0.5)
    assert_instance_of Llmgateway::Completion, c
    refute_empty c.text
    refute_empty c.id
    assert_equal "career_advice", c.route
    assert_equal "fast", c.variant
    assert_equal "fast", c.provider
    assert_equal "fast-model", c.model
    assert_equal :stop, c.finish_reason
    assert_equal :fresh, c.served_from
    assert_equal :primary, c.step
    assert c.fresh?
    assert_operator c.usage.input_tokens, :>, 0
    assert_operator c.usage.output_tokens, :>, 0
    assert_operator c.cost_usd, :>, 0
    assert_kind_of Float, c.upstream_latency
    assert_operator c.upstream_latency, :>, 0
    assert_empty c.failed_attempts
    assert_equal c.text, c.to_h[:text]
    assert_equal c.usage.output_tokens, c.to_h[:usage][:output_tokens]
  end

  def test_complete_takes_a_string_and_fills_templates_from_variables
    c = client.complete(route: "career_switch", messages: "Where do I start?", user: "user-7",
                        variables: { current_role: "QA engineer", target_role: "data engineer" })
    refute_empty c.text
    # The template's user message and the caller's are both in the prompt.
    plain = client.complete(route: "career_switch", messages: "Where do I start?", user: "user-7",
                            variables: { current_role: "QA", target_role: "DE" })
    assert_operator c.usage.input_tokens, :>, plain.usage.input_tokens
  end

  def test_stream_yields_deltas_and_returns_the_final_account
    deltas = []
    c = client.stream(route: "career_advice", messages: ask, user: "user-42") { |d| deltas << d }
    assert_operator deltas.size, :>, 1, "the answer arrives in pieces"
    assert_equal deltas.join, c.text
    assert_equal "career_advice", c.route
    assert_equal :stop, c.finish_reason
    assert_operator c.usage.output_tokens, :>, 0
    assert_operator c.cost_usd, :>, 0
    assert_operator c.time_to_first_token, :>, 0
  end

  def test_stream_needs_a_block
    assert_raises(ArgumentError) { client.stream(route: "career_advice", messages: ask) }
  end

  def test_an_error_in_the_block_cancels_the_stream_and_propagates
    seen = 0
    gone = Class.new(IOError)
    started = Time.now
    assert_raises(gone) do
      client.stream(route: "career_advice", messages: ask) do
        seen += 1
        raise gone, "client disconnected"
      end
    end
    assert_equal 1, seen
    assert_operator Time.now - started, :<, 2
    # The client still works afterwards.
    refute_empty client.complete(route: "career_advice", messages: ask).text
  end

  def test_deadline_exceeded_unary
    started = Time.now
    err = assert_raises(Llmgateway::DeadlineExceeded) do
      client.complete(route: "slow", messages: ask, deadline: 0.3)
    end
    assert_operator Time.now - started, :<, 2, "the call gave up at its deadline, not after the 5s answer"
    assert_equal :deadline_exceeded, err.code
    assert err.retryable?
  end

  def test_deadline_exceeded_stream_and_default_deadline
    started = Time.now
    assert_raises(Llmgateway::DeadlineExceeded) do
      client(stream_deadline: 0.3).stream(route: "slow", messages: ask) { |_| flunk "no text expected" }
    end
    assert_raises(Llmgateway::DeadlineExceeded) do
      client(deadline: 0.3).complete(route: "slow", messages: ask)
    end
    assert_operator Time.now - started, :<, 3
  end

  def test_feedback_is_attributed_to_the_variant
    c = client.complete(route: "career_advice", messages: ask, user: "user-9")
    f = client.feedback(response_id: c.id, success: true)
    assert_equal({ route: "career_advice", experiment: "career_advice", variant: "fast", replaced: false, counted: true }, f)
    assert client.feedback(response_id: c.id, score: 4)[:replaced]
    err = assert_raises(Llmgateway::NotFound) { client.feedback(response_id: "never-issued", success: false) }
    assert_equal "UNKNOWN_RESPONSE", err.reason
    assert_raises(ArgumentError) { client.feedback(response_id: c.id) }
  end

  def test_response_headers_report_what_is_left_of_a_quota
    # "limited" allows one request a minute; no other test calls it
    # successfully except test_rate_limited's first call, so only look at
    # a route without a limit here: no rate-limit headers at all.
    c = client.complete(route: "career_advice", messages: ask)
    assert_kind_of Hash, c.headers
    refute c.headers.key?("x-ratelimit-remaining-requests")
  end
end
