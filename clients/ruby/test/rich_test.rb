# frozen_string_literal: true

require "minitest/autorun"
require "llmgateway"

# Builds requests with tools, structured answers, parts and reasoning, and
# reads answers with tool calls, without a gateway: the live round trip
# needs providers that speak tools.
class RichTest < Minitest::Test
  SCHEMA = {
    type: "object", required: %w[title milestones],
    properties: { title: { type: "string" }, milestones: { type: "array", items: { type: "string" } } }
  }.freeze

  def client
    @client ||= Llmgateway::Client.new(Llmgateway::Configuration.new.tap { |c| c.address = "127.0.0.1:1" })
  end

  def test_tools_and_tool_choice
    r = client.request_for(route: "career_advice", messages: "Find ML jobs in Lisbon",
                           tools: [{ name: "search_jobs", description: "Searches open jobs.",
                                     parameters: { type: "object", properties: { query: { type: "string" } } } },
                                   { "name" => "now" }],
                           tool_choice: "search_jobs", parallel_tool_calls: false)
    assert_equal %w[search_jobs now], r.tools.map(&:name)
    # The schema goes as JSON text in the Hash's own key order.
    assert_equal '{"type":"object","properties":{"query":{"type":"string"}}}', r.tools[0].parameters.json
    assert_nil r.tools[1].parameters
    assert_equal :TOOL_CHOICE_MODE_TOOL, r.tool_choice.mode
    assert_equal "search_jobs", r.tool_choice.name
    assert_equal false, r.parallel_tool_calls
    assert r.has_parallel_tool_calls?

    assert_equal :TOOL_CHOICE_MODE_REQUIRED, client.request_for(messages: "x", tool_choice: :required).tool_choice.mode
    refute client.request_for(messages: "x").has_parallel_tool_calls?
    assert_raises(ArgumentError) { client.request_for(messages: "x", tool_choice: :sometimes) }
  end

  def test_response_format_and_reasoning
    r = client.request_for(messages: "Plan my career", response_format: { schema: SCHEMA, name: "career_plan" },
                           reasoning: :high)
    f = r.response_format
    assert_equal :RESPONSE_FORMAT_TYPE_JSON_SCHEMA, f.type
    assert_equal "career_plan", f.name
    assert f.strict
    assert_equal JSON.generate(SCHEMA), f.schema.json
    assert_equal :REASONING_EFFORT_HIGH, r.reasoning.effort

    assert_equal :RESPONSE_FORMAT_TYPE_JSON_OBJECT, client.request_for(messages: "x", response_format: :json_object).response_format.type
    raw = '{"type": "object"}'
    assert_equal raw, client.request_for(messages: "x", response_format: { schema: raw, strict: false }).response_format.schema.json
    assert_equal 4096, client.request_for(messages: "x", reasoning: 4096).reasoning.budget_tokens
    assert_raises(ArgumentError) { client.request_for(messages: "x", response_format: :yaml) }
  end

  def test_a_tool_round_trip_in_messages
    call = Llmgateway::ToolCall.new(id: "call_1", name: "search_jobs", arguments: '{"query":"ml"}')
    thought = Llmgateway::Thinking.new(text: "Search first.", signature: "sig", redacted: "")
    r = client.request_for(messages: [
                             { role: :system, content: "You are a career coach.", cache: true },
                             { role: :user, content: ["Here is my resume", { image_data: "\x89PNG", media_type: "image/png", cache: 3600 },
                                                      { image_url: "https://example.com/cv.png" }] },
                             { role: :assistant, content: "Let me look.", tool_calls: [call], thinking: [thought] },
                             { role: :tool, tool_call_id: "call_1", content: '[{"title":"ML Engineer"}]' },
                             { "role" => "user", "content" => "Which fits me best?" }
                           ])
    system, user, assistant, tool, last = r.messages.to_a
    assert_equal "You are a career coach.", system.content
    refute_nil system.cache_point
    assert_nil system.cache_point.ttl

    assert_equal "", user.content
    assert_equal %i[text image image], user.parts.map(&:kind)
    assert_equal "\x89PNG".b, user.parts[1].image.data
    assert_equal "image/png", user.parts[1].image.media_type
    assert_equal 3600, user.parts[1].cache_point.ttl.seconds
    assert_equal "https://example.com/cv.png", user.parts[2].image.url

    assert_equal :ROLE_ASSISTANT, assistant.role
    assert_equal %i[thinking text tool_call], assistant.parts.map(&:kind)
    assert_equal "sig", assistant.parts[0].thinking.signature
    assert_equal "search_jobs", assistant.parts[2].tool_call.name
    assert_equal '{"query":"ml"}', assistant.parts[2].tool_call.arguments

    assert_equal :ROLE_TOOL, tool.role
    assert_equal "call_1", tool.parts[0].tool_result.tool_call_id
    assert_equal "Which fits me best?", last.content
    assert_empty last.parts
  end

  def test_a_completion_with_tool_calls
    resp = Llmgateway::V1::CompleteResponse.new(
      id: "r1", text: "Let me search.", finish_reason: :FINISH_REASON_TOOL_CALLS,
      schema_check: :SCHEMA_CHECK_NOT_APPLICABLE,
      usage: Llmgateway::V1::Usage.new(input_tokens: 10, output_tokens: 40, reasoning_tokens: 30),
      parts: [
        Llmgateway::V1::Part.new(thinking: Llmgateway::V1::Thinking.new(text: "hm", signature: "s")),
        Llmgateway::V1::Part.new(text: "Let me search."),
        Llmgateway::V1::Part.new(tool_call: Llmgateway::V1::ToolCall.new(id: "c1", name: "search_jobs",
                                                                          arguments: '{"query":"ml"}'))
      ]
    )
    c = Llmgateway::Completion.from_proto(resp)
    assert_equal :tool_calls, c.finish_reason
    assert_equal :not_applicable, c.schema_check
    assert_equal 30, c.usage.reasoning_tokens
    assert c.tool_calls?
    assert_equal [{ "query" => "ml" }], c.tool_calls.map(&:parsed_arguments)
    assert_equal "s", c.thinking.first.signature
    assert_equal "c1", c.to_h[:tool_calls].first[:id]
    # An answer's tool calls go back into the next turn as they came.
    back = client.request_for(messages: [{ role: :assistant, tool_calls: c.tool_calls, thinking: c.thinking }])
    assert_equal %i[thinking tool_call], back.messages[0].parts.map(&:kind)

    plain = Llmgateway::Completion.from_proto(Llmgateway::V1::CompleteResponse.new(text: "hi"))
    refute plain.tool_calls?
    assert_empty plain.thinking
  end

  # complete_json, with complete answered in place of a gateway.
  class CannedClient < Llmgateway::Client
    attr_reader :asked

    def initialize(text)
      super(Llmgateway::Configuration.new.tap { |c| c.address = "127.0.0.1:1" })
      @text = text
    end

    def complete(**args)
      @asked = args
      Llmgateway::Completion.from_proto(Llmgateway::V1::CompleteResponse.new(text: @text))
    end
  end

  def test_complete_json
    c = CannedClient.new('{"title":"ML Engineer","milestones":["stats"]}')
    plan = c.complete_json(route: "career_plan", messages: "Plan", schema: SCHEMA, name: "career_plan")
    assert_equal({ "title" => "ML Engineer", "milestones" => ["stats"] }, plan)
    assert_equal({ schema: SCHEMA, name: "career_plan", strict: true }, c.asked[:response_format])
    assert_equal "career_plan", c.asked[:route]

    err = assert_raises(Llmgateway::InvalidAnswer) { CannedClient.new("Sure! {").complete_json(messages: "x", schema: SCHEMA) }
    assert_match(/not JSON/, err.message)
  end
end

# A stream's tool-call and thinking deltas, put together as stream does.
class StreamedPartsTest < Minitest::Test
  def test_deltas_make_whole_calls
    parts = Llmgateway::Client.const_get(:StreamedParts).new
    [
      Llmgateway::V1::ToolCallDelta.new(index: 0, id: "c1", name: "search_jobs"),
      Llmgateway::V1::ToolCallDelta.new(index: 1, id: "c2", name: "now", arguments: "{}"),
      Llmgateway::V1::ToolCallDelta.new(index: 0, arguments: '{"que'),
      Llmgateway::V1::ToolCallDelta.new(index: 0, arguments: 'ry":"ml"}')
    ].each { |d| parts.add_tool_call(d) }
    parts.add_thinking(Llmgateway::V1::ThinkingDelta.new(text: "Let me "))
    parts.add_thinking(Llmgateway::V1::ThinkingDelta.new(text: "think.", signature: "sig"))
    assert_equal [["c1", "search_jobs", { "query" => "ml" }], ["c2", "now", {}]],
                 parts.tool_calls.map { |c| [c.id, c.name, c.parsed_arguments] }
    assert_equal [Llmgateway::Thinking.new(text: "Let me think.", signature: "sig", redacted: "")], parts.thinking
  end
end
