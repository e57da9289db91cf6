# frozen_string_literal: true

require "test_helper"

# Reads client configuration files, and calls the live gateway with one.
class ConfigLoaderTest < Minitest::Test
  include GatewayTest

  def write(json)
    @dir ||= Dir.mktmpdir
    path = File.join(@dir, "llmgateway.json")
    File.write(path, json)
    path
  end

  def teardown
    FileUtils.rm_rf(@dir) if @dir
  end

  def test_loads_defaults_and_environment_overrides_and_calls_the_gateway
    path = write(JSON.generate(
                   address: "127.0.0.1:1", api_key_env: "TEST_LLMGW_KEY", deadline: "5s", stream_deadline: "2m",
                   environments: { test: { address: GatewayProcess.grpc_addr, deadline: "1500ms" } }
                 ))
    cfg = Llmgateway::ConfigLoader.load(path, env: "test", env_vars: { "TEST_LLMGW_KEY" => GatewayProcess.api_key })
    assert_equal GatewayProcess.grpc_addr, cfg.address
    assert_in_delta 1.5, cfg.deadline
    assert_in_delta 120.0, cfg.stream_deadline
    refute cfg.tls
    refute_includes cfg.inspect, GatewayProcess.api_key

    Llmgateway.config = cfg
    refute_empty Llmgateway.complete(route: "career_advice", messages: ask).text
    assert_same Llmgateway.client, Llmgateway.client

    dev = Llmgateway::ConfigLoader.load(path, env: "development", env_vars: { "TEST_LLMGW_KEY" => "k" })
    assert_equal "127.0.0.1:1", dev.address
    assert_in_delta 5.0, dev.deadline
  ensure
    Llmgateway.config = Llmgateway::Configuration.new
  end

  def test_api_key_file
    key_file = File.join(Dir.mktmpdir.tap { |d| (@cleanup ||= []) << d }, "key")
    File.write(key_file, "secret-key\n")
    cfg = Llmgateway::ConfigLoader.load(write(JSON.generate(address: "gw:50051", api_key_file: key_file)))
    assert_equal "secret-key", cfg.api_key
  ensure
    (@cleanup || []).each { |d| FileUtils.rm_rf(d) }
  end

  def test_errors_name_the_file_and_path
    {
      '{"address": "gw:1", "adress": "x"}' => 'llmgateway.json: $.adress: unknown key',
      '{"address": "gw:1", "deadline": "30 seconds"}' => 'llmgateway.json: $.deadline: must be a duration',
      '{"address": "gw:1", "tls": "yes"}' => 'llmgateway.json: $.tls: must be true or false',
      '{"address": "gw:1", "environments": {"production": {"deadline": 0}}}' =>
        'llmgateway.json: $.environments.production.deadline: must be a duration',
      '{"address": "gw:1", "environments": []}' => 'llmgateway.json: $.environments: must be a JSON object',
      '{"deadline": "1s"}' => 'llmgateway.json: $.address: required',
      '{"address": "gw:1", "api_key_env": "NOPE_NOT_SET"}' =>
        'llmgateway.json: $.api_key_env: the environment variable NOPE_NOT_SET is not set',
      '{"address": "gw:1", "api_key_file": "/nonexistent/key"}' => 'llmgateway.json: $.api_key_file: /nonexistent/key cannot be read',
      '{"address": "gw:1", "ca_file": "/etc/hosts"}' => 'llmgateway.json: $.ca_file: needs tls',
      '{"address": "gw:1",' => 'llmgateway.json: not valid JSON',
      '[1]' => 'llmgateway.json: $: must be a JSON object'
    }.each do |json, want|
      err = assert_raises(Llmgateway::ConfigError, json) do
        Llmgateway::ConfigLoader.load(write(json), env: "production", env_vars: {})
      end
      assert_includes err.message, want, json
    end
  end

  def test_durations
    assert_in_delta 0.25, Llmgateway::ConfigLoader.parse_duration("250ms")
    assert_in_delta 90.0, Llmgateway::ConfigLoader.parse_duration("1.5m")
    assert_in_delta 3600.0, Llmgateway::ConfigLoader.parse_duration("1h")
    assert_in_delta 7.0, Llmgateway::ConfigLoader.parse_duration(7)
    assert_nil Llmgateway::ConfigLoader.parse_duration("0s")
    assert_nil Llmgateway::ConfigLoader.parse_duration("-1s")
    assert_nil Llmgateway::ConfigLoader.parse_duration("1d")
  end
end
