# frozen_string_literal: true

module Llmgateway
  # Usage counts an answer's tokens; cached and cache-creation input tokens
  # are parts of input_tokens.
  Usage = Struct.new(:input_tokens, :output_tokens, :cached_input_tokens, :cache_creation_input_tokens,
                     :reasoning_tokens, keyword_init: true)

  # FailedAttempt is one provider attempt that failed before the answer.
  FailedAttempt = Struct.new(:provider, :model, :step, :error_kind, :duration, keyword_init: true)

  # Completion is a whole answer and how it was produced, as plain Ruby
  # values: enums are lower-case symbols (finish_reason :stop, served_from
  # :fresh, step :primary, schema_check :checked), durations are Float
  # seconds. tool_calls are the ToolCalls the model asked for
  # (finish_reason :tool_calls), thinking its Thinking, to send back with
  # the next turn.
  Completion = Struct.new(:id, :text, :finish_reason, :usage, :provider, :model, :route, :variant,
                          :cost_usd, :served_from, :step, :upstream_latency, :gateway_overhead,
                          :time_to_first_token, :failed_attempts, :headers, :tool_calls, :thinking,
                          :schema_check, keyword_init: true) do
    # tool_calls? is true when the model asked for tools.
    def tool_calls?
      !tool_calls.empty?
    end

    # fresh? is true for a new answer from a provider.
    def fresh?
      served_from == :fresh
    end

    # cached? is true for an answer from the gateway's cache (fresh or stale).
    def cached?
      %i[cache_hit stale_cache].include?(served_from)
    end

    # degraded? is true for the route's configured fallback answer.
    def degraded?
      served_from == :degraded
    end

    # to_h is a JSON-friendly Hash (usage and attempts as Hashes).
    def to_h
      super.merge(usage: usage&.to_h, failed_attempts: failed_attempts.map(&:to_h),
                  tool_calls: tool_calls.map(&:to_h), thinking: thinking.map(&:to_h))
    end

    class << self
      # from_proto builds a Completion from a CompleteResponse, or from a
      # stream's final StreamResponse and the text streamed before it.
      # tool_calls and thinking default to those of the response's parts.
      def from_proto(msg, text: msg.respond_to?(:text) ? msg.text : "", headers: {},
                     tool_calls: msg.respond_to?(:parts) ? Rich.tool_calls(msg.parts) : [],
                     thinking: msg.respond_to?(:parts) ? Rich.thinking(msg.parts) : [])
        new(
          id: msg.id, text: text, finish_reason: enum(msg.finish_reason, "FINISH_REASON_"),
          usage: msg.usage && Usage.new(input_tokens: msg.usage.input_tokens, output_tokens: msg.usage.output_tokens,
                                        cached_input_tokens: msg.usage.cached_input_tokens,
                                        cache_creation_input_tokens: msg.usage.cache_creation_input_tokens,
                                        reasoning_tokens: msg.usage.reasoning_tokens),
          tool_calls: tool_calls, thinking: thinking, schema_check: enum(msg.schema_check, "SCHEMA_CHECK_"),
          provider: msg.provider, model: msg.model, route: msg.route, variant: msg.variant, cost_usd: msg.cost_usd,
          served_from: enum(msg.served_from, "SERVED_FROM_"), step: enum(msg.step, "FAILOVER_STEP_"),
          upstream_latency: seconds(msg.upstream_latency), gateway_overhead: seconds(msg.gateway_overhead),
          time_to_first_token: msg.respond_to?(:time_to_first_token) ? seconds(msg.time_to_first_token) : nil,
          failed_attempts: msg.failed_attempts.map do |a|
            FailedAttempt.new(provider: a.provider, model: a.model, step: enum(a.step, "FAILOVER_STEP_"),
                              error_kind: a.error_kind, duration: seconds(a.duration))
          end,
          headers: headers
        )
      end

      private

      # enum turns :SERVED_FROM_CACHE_HIT into :cache_hit; a value this
      # client does not know yet stays an Integer.
      def enum(value, prefix)
        return value unless value.is_a?(Symbol)

        value.to_s.delete_prefix(prefix).downcase.to_sym
      end

      def seconds(duration)
        duration && (duration.seconds + (duration.nanos / 1e9))
      end
    end
  end
end
