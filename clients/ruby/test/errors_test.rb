# frozen_string_literal: true

require "test_helper"

# Each failure of a live gateway arrives as its own exception class, with
# the details the gateway attached.
class ErrorsTest < Minitest::Test
  include GatewayTest

  def test_invalid_argument_lists_every_bad_field
    err = assert_raises(Llmgateway::InvalidArgument) do
      client.complete(route: "career_advice", messages: [{ role: :user, content: "" }], temperature: 3)
    end
    assert_equal :invalid_argument, err.code
    assert_equal "INVALID_REQUEST", err.reason
    fields = err.field_violations.map(&:field)
    assert_includes fields, "messages[0].content"
    assert_includes fields, "params.temperature"
    err.field_violations.each { |v| refute_empty v.description }
    refute err.retryable?
  end

  def test_missing_template_variable
    err = assert_raises(Llmgateway::InvalidArgument) do
      client.complete(route: "career_switch", messages: ask, variables: { current_role: "QA" })
    end
    assert_equal "MISSING_VARIABLE", err.reason
    assert_equal ["variables.target_role"], err.field_violations.map(&:field)
  end

  def test_stream_errors_are_mapped_too
    err = assert_raises(Llmgateway::InvalidArgument) do
      client.stream(route: "career_advice", messages: [{ role: :user, content: "" }]) { |_| nil }
    end
    assert_equal ["messages[0].content"], err.field_violations.map(&:field)
  end

  def test_rate_limited_with_retry_after
    c = client.complete(route: "limited", messages: ask)
    assert_equal "0", c.headers["x-ratelimit-remaining-requests"]
    err = assert_raises(Llmgateway::RateLimited) { client.complete(route: "limited", messages: ask) }
    assert_equal :resource_exhausted, err.code
    assert_equal "QUOTA_EXCEEDED", err.reason
    assert_kind_of Float, err.retry_after
    assert_operator err.retry_after, :>, 0
    assert_operator err.retry_after, :<=, 60
    assert err.retryable?
  end

  def test_unavailable_when_no_provider_answers
    err = assert_raises(Llmgateway::Unavailable) { client.complete(route: "broken", messages: ask) }
    assert_equal :unavailable, err.code
    assert_match(/\AUPSTREAM_/, err.reason)
    assert_equal "down", err.info["provider"]
    assert err.retryable?

    assert_raises(Llmgateway::Unavailable) { client.stream(route: "broken", messages: ask) { |_| nil } }
  end

  def test_unavailable_when_the_gateway_cannot_be_reached
    s = TCPServer.new("127.0.0.1", 0)
    addr = "127.0.0.1:#{s.addr[1]}"
    s.close
    err = assert_raises(Llmgateway::Unavailable) { client(address: addr).complete(route: "career_advice", messages: ask, deadline: 2) }
    assert_equal :unavailable, err.code
  end

  def test_unauthenticated
    err = assert_raises(Llmgateway::Unauthenticated) do
      client(api_key: "llmgw_not-a-real-key").complete(route: "career_advice", messages: ask)
    end
    assert_equal "INVALID_API_KEY", err.reason
    refute_includes err.message, "llmgw_not-a-real-key"

    err = assert_raises(Llmgateway::Unauthenticated) { client(api_key: nil).complete(route: "career_advice", messages: ask) }
    assert_equal "MISSING_API_KEY", err.reason
  end

  def test_permission_denied
    err = assert_raises(Llmgateway::PermissionDenied) { client.complete(route: "admin_only", messages: ask) }
    assert_equal "ROUTE_NOT_ALLOWED", err.reason

    err = assert_raises(Llmgateway::PermissionDenied) do
      client.complete(model: { provider: "fast", model: "fast-model" }, messages: ask)
    end
    assert_equal "MODEL_OVERRIDE_NOT_ALLOWED", err.reason
  end

  def test_bad_arguments_fail_before_any_call
    assert_raises(ArgumentError) { client.complete(route: "career_advice", messages: [{ role: :robot, content: "hi" }]) }
    assert_raises(ArgumentError) { client.complete(route: "career_advice", messages: ask, colour: "blue") }
  end
end

# Failures of a provider, injected into bin/llmsim behind the "flaky" route.
class UpstreamErrorsTest < Minitest::Test
  include GatewayTest

  def teardown
    GatewayProcess.clear_faults
  end

  def test_upstream_rate_limit_carries_the_providers_retry_after
    GatewayProcess.fault(status: 429, retry_after: "2", count: 1)
    err = assert_raises(Llmgateway::RateLimited) { client.complete(route: "flaky", messages: ask) }
    assert_equal "UPSTREAM_RATE_LIMITED", err.reason
    assert_equal "flaky", err.info["provider"]
    assert_in_delta 2.0, err.retry_after
    # Until then the provider is cooled down: the next call is refused at
    # once, without reaching it, with what is left of the wait.
    again = assert_raises(Llmgateway::RateLimited) { client.complete(route: "flaky", messages: ask) }
    assert_operator again.retry_after, :>, 0
    assert_operator again.retry_after, :<=, 2.0
    sleep again.retry_after + 0.25
    # The fault was for one request only.
    refute_empty client.complete(route: "flaky", messages: ask).text
  end

  def test_a_stream_that_breaks_after_its_first_tokens_raises_after_the_text
    GatewayProcess.fault(disconnect_after_tokens: 4, count: 1)
    deltas = []
    err = assert_raises(Llmgateway::Unavailable) do
      client.stream(route: "flaky", messages: ask) { |d| deltas << d }
    end
    refute_empty deltas, "the text before the break reached the block"
    assert_operator deltas.size, :<, 12
    assert err.retryable?
  end
end
