# frozen_string_literal: true

require "json"

module Llmgateway
  # ConfigLoader reads the client's configuration from a JSON file, the way
  # the application reads its other JSON configuration:
  #
  #   {
  #     "address": "127.0.0.1:50051",
  #     "api_key_env": "LLMGW_API_KEY",
  #     "deadline": "30s",
  #     "stream_deadline": "2m",
  #     "environments": {
  #       "production": { "address": "llm-gateway.internal:443", "tls": true }
  #     }
  #   }
  #
  # The top level holds the defaults; environments.<env> overrides them for
  # one environment. The API key is never in the file: api_key_env names an
  # environment variable holding it, api_key_file a file (a mounted
  # secret). Decoding is strict: an unknown key, a wrong type or an
  # unreadable duration is a ConfigError naming the file and JSON path.
  module ConfigLoader
    FIELDS = %w[address api_key_env api_key_file tls ca_file deadline stream_deadline].freeze
    DURATION = /\A(\d+(?:\.\d+)?)(ms|s|m|h)\z/
    UNITS = { "ms" => 0.001, "s" => 1, "m" => 60, "h" => 3600 }.freeze

    module_function

    # load returns the Configuration in path for env (default: RAILS_ENV,
    # RACK_ENV or "development"). env_vars is where api_key_env is looked up.
    def load(path, env: ENV["RAILS_ENV"] || ENV["RACK_ENV"] || "development", env_vars: ENV)
      path = path.to_s
      file = File.basename(path)
      begin
        data = JSON.parse(File.read(path))
      rescue Errno::ENOENT, Errno::EACCES => e
        raise ConfigError, "#{file}: cannot be read: #{e.message}"
      rescue JSON::ParserError => e
        raise ConfigError, "#{file}: not valid JSON: #{e.message.lines.first.strip}"
      end
      settings = object(data, file, "$")
      overrides = {}
      if settings.key?("environments")
        envs = object(settings.delete("environments"), file, "$.environments")
        envs.each { |name, o| object(o, file, "$.environments.#{name}") }
        overrides = envs.fetch(env.to_s, {})
      end
      check(settings, file, "$")
      check(overrides, file, "$.environments.#{env}")
      build(settings.merge(overrides), file, env_vars)
    end

    # parse_duration reads "30s", "500ms", "2m", "1h" or a number of
    # seconds; it returns Float seconds or nil.
    def parse_duration(value)
      return value.to_f if value.is_a?(Numeric) && value.positive?
      return nil unless value.is_a?(String) && (m = DURATION.match(value))

      s = m[1].to_f * UNITS.fetch(m[2])
      s.positive? ? s : nil
    end

    def object(value, file, at)
      raise ConfigError, "#{file}: #{at}: must be a JSON object" unless value.is_a?(Hash)

      value
    end

    def check(settings, file, at)
      settings.each do |key, value|
        raise ConfigError, "#{file}: #{at}.#{key}: unknown key (one of #{FIELDS.join(', ')}, environments)" unless FIELDS.include?(key)

        ok = case key
             when "tls" then [true, false].include?(value)
             when "deadline", "stream_deadline" then !parse_duration(value).nil?
             else value.is_a?(String) && !value.empty?
             end
        next if ok

        want = { "tls" => "true or false", "deadline" => "a duration such as \"30s\" or \"500ms\"",
                 "stream_deadline" => "a duration such as \"2m\"" }.fetch(key, "a non-empty string")
        raise ConfigError, "#{file}: #{at}.#{key}: must be #{want}, not #{value.inspect}"
      end
    end

    def build(s, file, env_vars)
      raise ConfigError, "#{file}: $.address: required" unless s["address"]
      if s["api_key_env"] && s["api_key_file"]
        raise ConfigError, "#{file}: $.api_key_file: give api_key_env or api_key_file, not both"
      end

      cfg = Configuration.new
      cfg.address = s["address"]
      cfg.tls = s.fetch("tls", false)
      cfg.ca_file = s["ca_file"]
      cfg.deadline = parse_duration(s["deadline"]) if s["deadline"]
      cfg.stream_deadline = parse_duration(s["stream_deadline"]) if s["stream_deadline"]
      cfg.api_key = api_key(s, file, env_vars)
      begin
        cfg.validate!
      rescue ConfigError => e
        raise ConfigError, "#{file}: $.#{e.message}"
      end
    end

    def api_key(s, file, env_vars)
      if (name = s["api_key_env"])
        key = env_vars[name].to_s.strip
        raise ConfigError, "#{file}: $.api_key_env: the environment variable #{name} is not set" if key.empty?

        key
      elsif (path = s["api_key_file"])
        begin
          key = File.read(path).strip
        rescue SystemCallError => e
          raise ConfigError, "#{file}: $.api_key_file: #{path} cannot be read (#{e.class.name.split('::').last})"
        end
        raise ConfigError, "#{file}: $.api_key_file: #{path} is empty" if key.empty?

        key
      end
    end
  end
end
