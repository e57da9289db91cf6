# frozen_string_literal: true

require "grpc"
require "json"
require "llmgateway/v1/gateway_services_pb"
require "llmgateway/rich"

module Llmgateway
  # Client calls the gateway. It is thread-safe: make one per process (see
  # Llmgateway.client) and share it between threads.
  class Client
    ROLES = {
      "system" => :ROLE_SYSTEM, "user" => :ROLE_USER, "assistant" => :ROLE_ASSISTANT, "tool" => :ROLE_TOOL
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
    # Tools and structured answers:
    #
    #   c = client.complete(route: "career_advice", messages: "Find me ML jobs in Lisbon",
    #                       tools: [{ name: "search_jobs", description: "Searches open jobs.",
    #                                 parameters: { type: "object", properties: { query: { type: "string" } } } }],
    #                       tool_choice: :auto)
    #   c.tool_calls # => [#<struct Llmgateway::ToolCall id="call_1", name="search_jobs", arguments="{...}">]
    #
    # tools is an Array of { name:, description:, parameters: } (a JSON
    # Schema Hash, sent as JSON in its key order, or JSON text);
    # tool_choice :auto, :none, :required or a tool's name;
    # parallel_tool_calls true or false; response_format :text,
    # :json_object or { schema:, name:, strict: } (see complete_json);
    # reasoning :minimal, :low, :medium, :high or a budget of thinking tokens.
    # A message may carry parts instead of text: content as an Array of
    # parts (see Llmgateway::Rich.part: text, images, tool calls and
    # results, thinking, cache breakpoints), an assistant message its
    # tool_calls (the ToolCalls of an earlier Completion), a role :tool
    # message a tool_call_id with the result as content; cache: true (or a
    # TTL in seconds) makes a message a prompt-cache breakpoint.
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
    #
    # on_tool_call, when given, is called with each tool-call delta (a
    # Llmgateway::V1::ToolCallDelta: index, and id and name on a call's
    # first delta, then argument fragments); on_thinking with each
    # thinking delta. Either way the Completion's tool_calls and thinking
    # hold them whole.
    def stream(messages:, route: nil, user: nil, variables: {}, deadline: nil, metadata: {},
               on_tool_call: nil, on_thinking: nil, **options)
      raise ArgumentError, "stream needs a block to receive the text" unless block_given?

      request = build_request(route, messages, user, variables, options)
      deadline = deadline_at(deadline || config.stream_deadline)
      op = @stub.stream(request, deadline: deadline, metadata: call_metadata(metadata), return_op: true)
      text = +""
      calls = StreamedParts.new
      final = nil
      begin
        rescue_grpc(deadline) do
          op.execute.each do |msg|
            if msg.done
              final = msg
              next
            end
            if msg.tool_call
              calls.add_tool_call(msg.tool_call)
              on_tool_call&.call(msg.tool_call)
            end
            if msg.thinking
              calls.add_thinking(msg.thinking)
              on_thinking&.call(msg.thinking)
            end
            unless msg.delta.empty?
              text << msg.delta
              yield msg.delta
            end
          end
        end
      ensure
        op.cancel unless final
      end
      raise Unavailable.new("the stream ended without its final message", code: :unavailable) unless final

      Completion.from_proto(final, text: text, headers: op.metadata.to_h, tool_calls: calls.tool_calls,
                                   thinking: calls.thinking)
    end

    # complete_json asks for an answer that satisfies a JSON Schema and
    # returns it parsed, as a Hash with String keys. The gateway checks the
    # answer against the schema; the Completion is yielded, when a block is
    # given, for its usage and cost.
    #
    #   plan = client.complete_json(route: "career_plan", messages: "Plan my move into ML engineering",
    #                               schema: CAREER_PLAN_SCHEMA, name: "career_plan")
    #
    # schema is a Hash (sent as JSON in its key order) or JSON text; name
    # names it for the vendor; strict (default true) asks vendors that can
    # to constrain generation to it. It takes complete's other arguments
    # and raises InvalidAnswer when the answer is not JSON.
    def complete_json(schema:, name: "response", strict: true, **args)
      c = complete(**args, response_format: { schema: schema, name: name, strict: strict })
      yield c if block_given?
      begin
        JSON.parse(c.text)
      rescue JSON::ParserError => e
        raise InvalidAnswer.new("the answer is not JSON: #{e.message}", code: :invalid_answer)
      end
    end

    # request_for returns the Llmgateway::V1::CompleteRequest that complete
    # and stream would send for these arguments, without sending it.
    def request_for(messages:, route: nil, user: nil, variables: {}, **options)
      build_request(route, messages, user, variables, options)
    end

    # embed returns the Embeddings of inputs (a String or an Array of
    # Strings): one vector per input, from an embedding route, or an
    # embedding model ({ provider:, model: }) when the key allows it.
    #
    #   e = client.embed(route: "profile_embeddings", inputs: ["Senior data engineer"], user: current_user.id)
    #   e.vectors.first # => [0.0123, -0.0456, …]
    #
    # dimensions asks for shorter vectors (models that can give them); user
    # is the end user's stable, opaque id, tags (Hash) label the request.
    # A chat route or model raises InvalidArgument.
    def embed(inputs:, route: nil, model: nil, dimensions: nil, user: nil, tags: {}, deadline: nil, metadata: {})
      request = Llmgateway::V1::EmbedRequest.new(
        route: route.to_s, inputs: Array(inputs).map(&:to_s),
        caller: Llmgateway::V1::Caller.new(subject: user.to_s, tags: stringify(tags))
      )
      request.dimensions = Integer(dimensions) unless dimensions.nil?
      if model
        model = model.transform_keys(&:to_sym)
        request.model = Llmgateway::V1::ModelOverride.new(provider: model.fetch(:provider).to_s,
                                                          model: model.fetch(:model).to_s)
      end
      deadline = deadline_at(deadline || config.deadline)
      op = @stub.embed(request, deadline: deadline, metadata: call_metadata(metadata), return_op: true)
      response = rescue_grpc(deadline) { op.execute }
      Embeddings.from_proto(response, headers: op.metadata.to_h)
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
      request.tools += Rich.tools(opts.delete(:tools)) if opts.key?(:tools)
      request.tool_choice = Rich.tool_choice(opts.delete(:tool_choice)) if opts.key?(:tool_choice)
      request.parallel_tool_calls = opts.delete(:parallel_tool_calls) ? true : false if opts.key?(:parallel_tool_calls)
      request.response_format = Rich.response_format(opts.delete(:response_format)) if opts.key?(:response_format)
      request.reasoning = Rich.reasoning(opts.delete(:reasoning)) if opts.key?(:reasoning)
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
        m = m.to_h.transform_keys(&:to_sym)
        role = ROLES[m[:role].to_s] or
          raise ArgumentError, "message role must be one of #{ROLES.keys.join(', ')}, not #{m[:role].inspect}"
        parts = Rich.parts(m)
        msg = if parts.empty?
                Llmgateway::V1::Message.new(role: role, content: m[:content].to_s)
              else
                Llmgateway::V1::Message.new(role: role, parts: parts)
              end
        msg.cache_point = Rich.cache_point(m[:cache]) if m[:cache]
        msg
      end
    end

    # StreamedParts puts a stream's tool-call and thinking deltas together.
    class StreamedParts
      def initialize
        @calls = []
        @thinking = nil
      end

      def add_tool_call(delta)
        call = (@calls[delta.index] ||= ToolCall.new(id: +"", name: +"", arguments: +""))
        call.id << delta.id
        call.name << delta.name
        call.arguments << delta.arguments
      end

      def add_thinking(delta)
        @thinking ||= Thinking.new(text: +"", signature: +"", redacted: +"")
        @thinking.text << delta.text
        @thinking.signature << delta.signature
        @thinking.redacted << delta.redacted
      end

      def tool_calls
        @calls.compact
      end

      def thinking
        @thinking ? [@thinking] : []
      end
    end
    private_constant :StreamedParts

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
