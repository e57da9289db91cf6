# frozen_string_literal: true

require "grpc"
require "llmgateway/v1/gateway_services_pb"

module Llmgateway
  # Client calls the gateway. It is thread-safe: make one per process (see
  # Llmgateway.client) and share it between threads.
  class Client
    ROLES = {
      "system" => :ROLE_SYSTEM, "user" => :ROLE_USER, "assistant" => :ROLE_ASSISTANT
    }.freeze

    attr_reader :config

    # new connects lazily to config.address; nothing is sent until the
    # first call.
    def initialize(config = Llmgateway.config)
      @config = config.dup.validate!
      @stub = Llmgateway::V1::LLMGateway::Stub.new(@config.address, @config.credentials,
                                                    channel_args: @config.grpc_channel_args)
    end

    # complete asks for a whole answer and returns a Completion.
    #
    #   client.complete(route: "career_advice",
    #                   messages: [{ role: :user, content: "How do I move into data engineering?" }],
    #                   user: current_user.id, variables: { target_role: "Data Engineer" })
    #
    # messages is an Array of { role:, content: } (role :user, :system or
    # :assistant; String keys work too), or one String for a single user
    # message. user is the end user's stable, opaque id (never an e-mail
    # address): it keys per-user quotas and keeps A/B assignment sticky.
    # variables fill the route's prompt templates. Other options:
    # tags (Hash), max_tokens, temperature, top_p, stop, seed, cache_ttl
    # (seconds), cache_bypass, model ({ provider:, model: }, instead of a
    # route, when the key allows it), force_variant, deadline (seconds,
    # default config.deadline) and metadata (extra gRPC metadata).
    #
    # It raises a subclass of Llmgateway::Error when the gateway refuses or
    # fails.
    def complete(messages:, route: nil, user: nil, variables: {}, deadline: nil, metadata: {}, **options)
      request = build_request(route, messages, user, variables, options)
      deadline = deadline_at(deadline || config.deadline)
      op = @stub.complete(request, deadline: deadline, metadata: call_metadata(metadata), return_op: true)
      response = rescue_grpc(deadline) { op.execute }
      Completion.from_proto(response, headers: op.metadata.to_h)
    end

    # stream asks for an answer as it is generated: it yields each text
    # delta to the block as it arrives and returns the Completion (the whole
    # text, usage, cost) once the stream is done. It takes the same
    # arguments as complete; deadline defaults to config.stream_deadline
    # and bounds the whole stream.
    #
    # If the block raises (e.g. the browser went away), the call is
    # canceled, so the gateway stops generating, and the error propagates
    # unchanged.
    def stream(messages:, route: nil, user: nil, variables: {}, deadline: nil, metadata: {}, **options)
      raise ArgumentError, "stream needs a block to receive the text" unless block_given?

      request = build_request(route, messages, user, variables, options)
      deadline = deadline_at(deadline || config.stream_deadline)
      op = @stub.stream(request, deadline: deadline, metadata: call_metadata(metadata), return_op: true)
      text = +""
      final = nil
      begin
        rescue_grpc(deadline) do
          op.execute.each do |msg|
            if msg.done
              final = msg
            elsif !msg.delta.empty?
              text << msg.delta
              yield msg.delta
            end
          end
        end
      ensure
        op.cancel unless final
      end
      raise Unavailable.new("the stream ended without its final message", code: :unavailable) unless final

      Completion.from_proto(final, text: text, headers: op.metadata.to_h)
    end

    # feedback records the end user's verdict on an answer, by its id
    # (Completion#id): success: true/false (thumbs up or down), or score: a
    # number on the app's own scale. It returns the variant it was
    # attributed to as a Hash (route, experiment, variant, replaced,
    # counted). An id the gateway never issued or has forgotten raises
    # NotFound.
    def feedback(response_id:, success: nil, score: nil, deadline: nil, metadata: {})
      raise ArgumentError, "give success: or score:, exactly one" unless success.nil? ^ score.nil?

      request = Llmgateway::V1::FeedbackRequest.new(response_id: response_id.to_s)
      if success.nil?
        request.score = Float(score)
      else
        request.success = success ? true : false
      end
      response = rescue_grpc do
        @stub.feedback(request, deadline: deadline_at(deadline || config.deadline), metadata: call_metadata(metadata))
      end
      { route: response.route, experiment: response.experiment, variant: response.variant,
        replaced: response.replaced, counted: response.counted }
    end

    private

    def build_request(route, messages, user, variables, options)
      opts = options.dup
      params = Llmgateway::V1::GenerationParams.new
      { max_tokens: :Integer, temperature: :Float, top_p: :Float, seed: :Integer }.each do |k, conv|
        params[k.to_s] = Kernel.send(conv, opts.delete(k)) unless opts[k].nil?
        opts.delete(k)
      end
      params.stop += Array(opts.delete(:stop)).map(&:to_s) if opts.key?(:stop)
      caller = Llmgateway::V1::Caller.new(subject: user.to_s, tags: stringify(opts.delete(:tags) || {}))
      request = Llmgateway::V1::CompleteRequest.new(
        route: route.to_s, messages: build_messages(messages), params: params, caller: caller,
        variables: stringify(variables), force_variant: opts.delete(:force_variant).to_s
      )
      if (model = opts.delete(:model))
        model = model.transform_keys(&:to_sym)
        request.model = Llmgateway::V1::ModelOverride.new(provider: model.fetch(:provider).to_s,
                                                          model: model.fetch(:model).to_s)
      end
      cache_ttl = opts.delete(:cache_ttl)
      cache_bypass = opts.delete(:cache_bypass)
      if cache_ttl || cache_bypass
        request.cache = Llmgateway::V1::CacheControl.new(bypass: cache_bypass ? true : false)
        request.cache.ttl = duration(cache_ttl) if cache_ttl
      end
      raise ArgumentError, "unknown options: #{opts.keys.join(', ')}" unless opts.empty?

      request
    end

    def build_messages(messages)
      return [Llmgateway::V1::Message.new(role: :ROLE_USER, content: messages)] if messages.is_a?(String)

      Array(messages).map do |m|
        m = m.to_h.transform_keys(&:to_s)
        role = ROLES[m["role"].to_s] or
          raise ArgumentError, "message role must be one of #{ROLES.keys.join(', ')}, not #{m['role'].inspect}"
        Llmgateway::V1::Message.new(role: role, content: m["content"].to_s)
      end
    end

    def stringify(hash)
      hash.to_h.to_h { |k, v| [k.to_s, v.to_s] }
    end

    def duration(seconds)
      whole = seconds.floor
      Google::Protobuf::Duration.new(seconds: whole, nanos: ((seconds - whole) * 1e9).round)
    end

    def deadline_at(seconds)
      Time.now + seconds
    end

    def call_metadata(extra)
      md = {}
      md["authorization"] = "Bearer #{config.api_key}" if config.api_key && !config.api_key.empty?
      extra.each { |k, v| md[k.to_s.downcase] = v.to_s }
      Tracing.inject(md)
    end

    def rescue_grpc(deadline = nil)
      yield
    rescue GRPC::BadStatus => e
      raise Errors.from_grpc(e)
    rescue GRPC::Core::CallError => e
      # grpc 1.51's stream reader can fail with a bare CallError instead of
      # a status when the deadline passes while it waits for a message.
      raise DeadlineExceeded.new("deadline exceeded", code: :deadline_exceeded, grpc_code: 4) if deadline && Time.now >= deadline

      raise Unavailable.new("the call failed: #{e.message}", code: :unavailable, grpc_code: 14)
    end
  end
end
