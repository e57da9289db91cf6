# frozen_string_literal: true

require "test_helper"

# Embeddings through the client, from the simulator's embedding model.
class EmbedTest < Minitest::Test
  include GatewayTest

  def test_embed_returns_one_unit_vector_per_input
    e = client.embed(route: "embeddings", inputs: ["Senior data engineer", "Pediatric nurse"], dimensions: 8,
                     user: "user-42")
    assert_instance_of Llmgateway::Embeddings, e
    assert_equal 2, e.vectors.size
    e.vectors.each do |v|
      assert_equal 8, v.size
      assert_in_delta 1.0, Math.sqrt(v.sum { |x| x * x }), 1e-5
    end
    refute_equal e.vectors[0], e.vectors[1]
    assert_equal e.vectors, client.embed(route: "embeddings", inputs: ["Senior data engineer", "Pediatric nurse"],
                                         dimensions: 8).vectors, "the same texts give the same vectors"
    assert_equal "embeddings", e.route
    assert_equal "fast", e.provider
    assert_equal "text-embedding-3-small", e.model
    assert_equal :primary, e.step
    assert_equal 9, e.usage.input_tokens # a token per 4 bytes of each input, rounded up
    assert_equal 20 * 9, e.cost_nano_usd # $0.02 per million tokens
  end

  def test_embed_on_a_chat_route_is_refused
    err = assert_raises(Llmgateway::InvalidArgument) { client.embed(route: "career_advice", inputs: "x") }
    assert_match(/does not embed/, err.message)
  end
end
