# frozen_string_literal: true

require "json"

module Llmgateway
  # ToolCall is the model asking the application to call a tool: its id
  # (which the result names), the tool's name and the arguments as JSON
  # text, exactly as the model wrote them.
  ToolCall = Struct.new(:id, :name, :arguments, keyword_init: true) do
    # parsed_arguments is the arguments as a Hash (String keys); {} when
    # there are none. It raises JSON::ParserError for arguments that are
    # not JSON.
    def parsed_arguments
      arguments.to_s.strip.empty? ? {} : JSON.parse(arguments)
    end
  end

  # Thinking is a model's reasoning, to be sent back unchanged in the next
  # turn: readable text with its signature, or redacted data.
  Thinking = Struct.new(:text, :signature, :redacted, keyword_init: true)

  # Rich builds the parts of a request beyond plain text: content parts,
  # tools, tool choice, response format and reasoning. Hashes take Symbol
  # or String keys.
  module Rich
    TOOL_CHOICES = {
      auto: :TOOL_CHOICE_MODE_AUTO, none: :TOOL_CHOICE_MODE_NONE, required: :TOOL_CHOICE_MODE_REQUIRED
    }.freeze
    EFFORTS = {
      minimal: :REASONING_EFFORT_MINIMAL, low: :REASONING_EFFORT_LOW, medium: :REASONING_EFFORT_MEDIUM,
      high: :REASONING_EFFORT_HIGH
    }.freeze

    module_function

    # schema is a JSON Schema as the contract's JsonSchema: a Hash is
    # written as JSON text in its own key order (which models follow when
    # they write structured answers), a String is sent as it is.
    def schema(value)
      json = value.is_a?(String) ? value : JSON.generate(value)
      V1::JsonSchema.new(json: json)
    end

    # tools builds tool definitions from { name:, description:, parameters: }.
    def tools(list)
      Array(list).map do |t|
        t = keys(t)
        tool = V1::Tool.new(name: t.fetch(:name).to_s, description: t[:description].to_s)
        tool.parameters = schema(t[:parameters]) if t[:parameters]
        tool
      end
    end

    # tool_choice is :auto, :none, :required, or the name of one tool (a
    # String, or { name: }).
    def tool_choice(choice)
      choice = keys(choice)[:name] if choice.is_a?(Hash)
      if choice.is_a?(Symbol)
        mode = TOOL_CHOICES[choice] or
          raise ArgumentError, "tool_choice must be #{TOOL_CHOICES.keys.join(', ')} or a tool name, not #{choice.inspect}"
        return V1::ToolChoice.new(mode: mode)
      end
      V1::ToolChoice.new(mode: :TOOL_CHOICE_MODE_TOOL, name: choice.to_s)
    end

    # response_format is :text, :json_object, or a JSON Schema answer as
    # { schema:, name: "response", strict: true, description: nil }.
    def response_format(format)
      case format
      when :text then V1::ResponseFormat.new(type: :RESPONSE_FORMAT_TYPE_TEXT)
      when :json_object then V1::ResponseFormat.new(type: :RESPONSE_FORMAT_TYPE_JSON_OBJECT)
      when Hash
        f = keys(format)
        V1::ResponseFormat.new(type: :RESPONSE_FORMAT_TYPE_JSON_SCHEMA, name: (f[:name] || "response").to_s,
                               description: f[:description].to_s, strict: f.fetch(:strict, true) ? true : false,
                               schema: schema(f.fetch(:schema)))
      else
        raise ArgumentError, "response_format must be :text, :json_object or { schema: ... }, not #{format.inspect}"
      end
    end

    # reasoning is an effort (:minimal, :low, :medium, :high) or a budget of
    # thinking tokens (an Integer).
    def reasoning(value)
      return V1::Reasoning.new(budget_tokens: Integer(value)) if value.is_a?(Integer)

      effort = EFFORTS[value&.to_sym] or
        raise ArgumentError, "reasoning must be #{EFFORTS.keys.join(', ')} or a token budget, not #{value.inspect}"
      V1::Reasoning.new(effort: effort)
    end

    # parts builds a message's parts from the message Hash: its content (a
    # String, or an Array of parts), its tool_calls (ToolCall or Hashes,
    # assistant messages) and, for a role :tool message, tool_call_id with
    # content as the result.
    #
    # A part is a String (text) or a Hash with one of: text:, image_url:,
    # image_data: (with media_type:), tool_call: ({ id:, name:, arguments: }),
    # tool_result: ({ tool_call_id:, content:, is_error: }), thinking:
    # (Thinking or { text:, signature:, redacted: }); and cache: true (or a
    # TTL in seconds) to make it a prompt-cache breakpoint.
    def parts(message)
      m = message
      out = []
      if m[:tool_call_id]
        out << V1::Part.new(tool_result: V1::ToolResult.new(tool_call_id: m[:tool_call_id].to_s,
                                                             content: m[:content].to_s,
                                                             is_error: m[:is_error] ? true : false))
      elsif m[:content].is_a?(Array)
        out.concat(m[:content].map { |p| part(p) })
      elsif m[:content] && !m[:content].to_s.empty? && (m[:tool_calls] || m[:thinking])
        out << V1::Part.new(text: m[:content].to_s)
      end
      Array(m[:thinking]).each { |t| out.unshift(part(thinking: t)) }
      Array(m[:tool_calls]).each { |c| out << part(tool_call: c) }
      out
    end

    # part builds one content part.
    def part(value)
      return V1::Part.new(text: value) if value.is_a?(String)

      p = keys(value)
      part = if p.key?(:text) then V1::Part.new(text: p[:text].to_s)
             elsif p[:image_url] then V1::Part.new(image: V1::Image.new(url: p[:image_url].to_s))
             elsif p[:image_data]
               V1::Part.new(image: V1::Image.new(data: p[:image_data].to_s.b, media_type: p.fetch(:media_type).to_s))
             elsif p[:tool_call]
               c = keys(p[:tool_call])
               V1::Part.new(tool_call: V1::ToolCall.new(id: c.fetch(:id).to_s, name: c.fetch(:name).to_s,
                                                        arguments: arguments(c[:arguments])))
             elsif p[:tool_result]
               r = keys(p[:tool_result])
               V1::Part.new(tool_result: V1::ToolResult.new(tool_call_id: r.fetch(:tool_call_id).to_s,
                                                            content: r[:content].to_s, is_error: r[:is_error] ? true : false))
             elsif p[:thinking]
               t = keys(p[:thinking])
               V1::Part.new(thinking: V1::Thinking.new(text: t[:text].to_s, signature: t[:signature].to_s,
                                                       redacted: t[:redacted].to_s))
             else
               raise ArgumentError, "a part needs text:, image_url:, image_data:, tool_call:, tool_result: or thinking:, " \
                                    "got #{p.keys.inspect}"
             end
      part.cache_point = cache_point(p[:cache]) if p[:cache]
      part
    end

    # cache_point is a prompt-cache breakpoint: true for the vendor's
    # default lifetime, or a TTL in seconds (300 or 3600 at Anthropic).
    def cache_point(value)
      point = V1::PromptCachePoint.new
      point.ttl = Google::Protobuf::Duration.new(seconds: Integer(value)) unless value == true
      point
    end

    # tool_calls lists an answer's tool calls; parts of the contract.
    def tool_calls(parts)
      parts.filter_map do |p|
        c = p.tool_call
        ToolCall.new(id: c.id, name: c.name, arguments: c.arguments) if p.kind == :tool_call
      end
    end

    # thinking lists an answer's thinking parts.
    def thinking(parts)
      parts.filter_map do |p|
        t = p.thinking
        Thinking.new(text: t.text, signature: t.signature, redacted: t.redacted) if p.kind == :thinking
      end
    end

    def arguments(value)
      case value
      when nil then ""
      when String then value
      else JSON.generate(value)
      end
    end

    def keys(hash)
      hash.respond_to?(:to_h) && !hash.is_a?(String) ? hash.to_h.transform_keys(&:to_sym) : hash
    end
  end
end
