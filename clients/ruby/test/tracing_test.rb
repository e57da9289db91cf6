# frozen_string_literal: true

require "test_helper"

# A gRPC server in this process stands in for the gateway to show what
# metadata the client sends: the API key, extra metadata, and the trace
# context of OpenTelemetry when it is loaded.
class TracingTest < Minitest::Test
  include GatewayTest

  # FakePropagation is what OpenTelemetry.propagation does with the W3C
  # trace-context propagator for a sampled span.
  class FakePropagation
    def inject(carrier, **)
      carrier["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
      carrier["tracestate"] = "rojo=00f067aa0ba902b7"
    end
  end

  def setup
    @echo = EchoServer.new(:this_port_is_insecure)
    @addr = @echo.addr
  end

  def teardown
    @echo.stop
    Object.send(:remove_const, :OpenTelemetry) if defined?(::OpenTelemetry)
  end

  def sent(**kw)
    c = client(address: @addr, api_key: "k-123")
    JSON.parse(c.complete(route: "x", messages: ask, **kw).text)
  end

  def test_sends_the_key_and_extra_metadata_but_no_trace_without_opentelemetry
    md = sent(metadata: { "X-Request-Id" => "req-1" })
    assert_equal "Bearer k-123", md["authorization"]
    assert_equal "req-1", md["x-request-id"]
    refute md.key?("traceparent")
  end

  def test_propagates_the_trace_context_when_opentelemetry_is_loaded
    otel = Module.new
    prop = FakePropagation.new
    otel.define_singleton_method(:propagation) { prop }
    Object.const_set(:OpenTelemetry, otel)
    md = sent
    assert_equal "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", md["traceparent"]
    assert_equal "rojo=00f067aa0ba902b7", md["tracestate"]

    # A traceparent the caller set explicitly wins.
    md = sent(metadata: { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" })
    assert_equal "00-11111111111111111111111111111111-2222222222222222-01", md["traceparent"]
  end
end
