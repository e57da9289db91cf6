# frozen_string_literal: true

module Llmgateway
  # Tracing propagates the current trace to the gateway: when the
  # OpenTelemetry API is loaded (the opentelemetry-api gem, as in a Rails
  # app with opentelemetry-sdk), its configured propagators write the W3C
  # traceparent (and tracestate, baggage) into the call's metadata, so that
  # the gateway's spans join the request's trace.
  module Tracing
    module_function

    # inject adds the current context's propagation headers to metadata (a
    # Hash) and returns it. Headers the caller set are kept.
    def inject(metadata)
      return metadata unless defined?(::OpenTelemetry) && ::OpenTelemetry.respond_to?(:propagation)

      carrier = {}
      ::OpenTelemetry.propagation.inject(carrier)
      carrier.each { |k, v| metadata[k.to_s.downcase] ||= v.to_s }
      metadata
    end
  end
end
