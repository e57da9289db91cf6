# frozen_string_literal: true

require "grpc"
require "google/protobuf/well_known_types"
require "google/rpc/status_pb"
require "google/rpc/error_details_pb"

module Llmgateway
  # Error is the base of every error the client raises. Errors from the
  # gateway carry the gRPC status and the details the gateway attached:
  # ErrorInfo (reason, metadata), RetryInfo and BadRequest field violations.
  class Error < StandardError
    # A FieldViolation is one invalid request field, e.g.
    # field "messages[0].content", description "value length must be at least 1 characters".
    FieldViolation = Struct.new(:field, :description, keyword_init: true)

    # code is the gRPC status as a symbol (:invalid_argument,
    # :resource_exhausted, ...), nil for errors raised before any call.
    attr_reader :code
    # grpc_code is the numeric gRPC status code.
    attr_reader :grpc_code
    # reason is the ErrorInfo reason, e.g. "QUOTA_EXCEEDED",
    # "UPSTREAM_RATE_LIMITED", "ROUTE_NOT_ALLOWED"; nil when there is none.
    attr_reader :reason
    # info is the ErrorInfo metadata (e.g. {"provider" => "openai"}).
    attr_reader :info
    # retry_after is the back-off the gateway asked for, in seconds (a
    # Float), or nil.
    attr_reader :retry_after
    # field_violations lists the invalid request fields (BadRequest).
    attr_reader :field_violations
    # metadata is the call's trailing metadata (response headers).
    attr_reader :metadata

    def initialize(message = nil, code: nil, grpc_code: nil, reason: nil, info: {}, retry_after: nil,
                   field_violations: [], metadata: {})
      super(message)
      @code = code
      @grpc_code = grpc_code
      @reason = reason
      @info = info
      @retry_after = retry_after
      @field_violations = field_violations
      @metadata = metadata
    end

    # retryable? says whether the same request may succeed later.
    def retryable?
      false
    end
  end

  # ConfigError is an invalid client configuration; the message names the
  # file and JSON path.
  class ConfigError < Error; end

  # InvalidAnswer is an answer complete_json cannot parse as JSON.
  class InvalidAnswer < Error; end

  # InvalidArgument is a request the gateway refused as invalid: every bad
  # field is in field_violations. Unknown routes and models, missing
  # template variables and prompts too long for the model are reported so.
  class InvalidArgument < Error; end

  # RateLimited is a quota of the gateway (reason "QUOTA_EXCEEDED") or a
  # provider's rate limit ("UPSTREAM_RATE_LIMITED"); retry_after says when
  # to try again.
  class RateLimited < Error
    def retryable?
      true
    end
  end

  # Unavailable means no provider could answer and the route has no
  # degraded answer, or the gateway itself cannot be reached.
  class Unavailable < Error
    def retryable?
      true
    end
  end

  # DeadlineExceeded is a call that did not finish within its deadline.
  class DeadlineExceeded < Error
    def retryable?
      true
    end
  end

  # Unauthenticated is a missing or unknown API key.
  class Unauthenticated < Error; end

  # PermissionDenied is a route, model override or forced variant that the
  # API key may not use.
  class PermissionDenied < Error; end

  # NotFound is an unknown response id (feedback) or experiment.
  class NotFound < Error; end

  # FailedPrecondition is a request that can never fit a limit, or a route
  # whose enrichment record is missing.
  class FailedPrecondition < Error; end

  # Canceled is a call canceled by the client.
  class Canceled < Error; end

  # InternalError is a failure inside the gateway (e.g. its own provider
  # credentials were rejected): not the caller's to fix.
  class InternalError < Error; end

  # Errors maps gRPC failures to the client's exception classes.
  module Errors
    CLASSES = {
      GRPC::Core::StatusCodes::INVALID_ARGUMENT => InvalidArgument,
      GRPC::Core::StatusCodes::OUT_OF_RANGE => InvalidArgument,
      GRPC::Core::StatusCodes::RESOURCE_EXHAUSTED => RateLimited,
      GRPC::Core::StatusCodes::UNAVAILABLE => Unavailable,
      GRPC::Core::StatusCodes::DEADLINE_EXCEEDED => DeadlineExceeded,
      GRPC::Core::StatusCodes::UNAUTHENTICATED => Unauthenticated,
      GRPC::Core::StatusCodes::PERMISSION_DENIED => PermissionDenied,
      GRPC::Core::StatusCodes::NOT_FOUND => NotFound,
      GRPC::Core::StatusCodes::FAILED_PRECONDITION => FailedPrecondition,
      GRPC::Core::StatusCodes::CANCELLED => Canceled
    }.freeze

    CODE_NAMES = GRPC::Core::StatusCodes.constants.to_h do |c|
      [GRPC::Core::StatusCodes.const_get(c), c.to_s.downcase.to_sym]
    end.freeze

    DETAILS_KEY = "grpc-status-details-bin"

    module_function

    # from_grpc turns a GRPC::BadStatus into the matching Llmgateway::Error,
    # decoding the google.rpc.Status details from the trailers.
    def from_grpc(err)
      md = err.metadata || {}
      reason = nil
      info = {}
      retry_after = nil
      violations = []
      decode_details(md[DETAILS_KEY]).each do |any|
        if (ei = any.unpack(Google::Rpc::ErrorInfo))
          reason = ei.reason
          info = ei.metadata.to_h
        elsif (ri = any.unpack(Google::Rpc::RetryInfo))
          d = ri.retry_delay
          retry_after = d.seconds + (d.nanos / 1e9) if d
        elsif (br = any.unpack(Google::Rpc::BadRequest))
          violations = br.field_violations.map { |v| Error::FieldViolation.new(field: v.field, description: v.description) }
        end
      end
      retry_after ||= header_seconds(md["retry-after"])
      klass = CLASSES.fetch(err.code, InternalError)
      klass.new(err.details.to_s.empty? ? CODE_NAMES[err.code].to_s : err.details,
                code: CODE_NAMES[err.code], grpc_code: err.code, reason: reason, info: info,
                retry_after: retry_after, field_violations: violations, metadata: md.except(DETAILS_KEY))
    end

    def decode_details(bin)
      return [] if bin.nil? || bin.empty?

      Google::Rpc::Status.decode(bin).details.to_a
    rescue Google::Protobuf::ParseError
      []
    end

    def header_seconds(value)
      value = value.first if value.is_a?(Array)
      Float(value) if value
    rescue ArgumentError, TypeError
      nil
    end
  end
end
