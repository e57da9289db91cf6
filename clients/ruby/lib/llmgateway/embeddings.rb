# frozen_string_literal: true

module Llmgateway
  # Embeddings are the vectors of an embed call and how they were produced:
  # vectors is an Array of Arrays of Floats, one per input in order; usage
  # counts input tokens only; step is :primary or :backup; durations are
  # Float seconds.
  Embeddings = Struct.new(:vectors, :usage, :provider, :model, :route, :variant, :cost_usd, :cost_nano_usd,
                          :step, :upstream_latency, :gateway_overhead, :failed_attempts, :headers,
                          keyword_init: true) do
    class << self
      # from_proto builds Embeddings from an EmbedResponse.
      def from_proto(msg, headers: {})
        new(
          vectors: msg.embeddings.map { |e| e.values.to_a },
          usage: msg.usage && Usage.new(input_tokens: msg.usage.input_tokens, output_tokens: 0,
                                        cached_input_tokens: 0, cache_creation_input_tokens: 0, reasoning_tokens: 0),
          provider: msg.provider, model: msg.model, route: msg.route, variant: msg.variant,
          cost_usd: msg.cost_usd, cost_nano_usd: msg.cost_nano_usd,
          step: msg.step.to_s.delete_prefix("FAILOVER_STEP_").downcase.to_sym,
          upstream_latency: seconds(msg.upstream_latency), gateway_overhead: seconds(msg.gateway_overhead),
          failed_attempts: msg.failed_attempts.map do |a|
            FailedAttempt.new(provider: a.provider, model: a.model,
                              step: a.step.to_s.delete_prefix("FAILOVER_STEP_").downcase.to_sym,
                              error_kind: a.error_kind, duration: seconds(a.duration))
          end,
          headers: headers
        )
      end

      private

      def seconds(duration)
        duration && (duration.seconds + (duration.nanos / 1e9))
      end
    end
  end
end
