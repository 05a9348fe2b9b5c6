using System.Text.Json.Serialization;

namespace Serverless.Lambda.Events;

/// <summary>
/// API Gateway HTTP API request, payload format 2.0; Lambda Function URLs send the same shape (their
/// <c>requestContext.domainName</c> is <c>&lt;id&gt;.lambda-url.&lt;region&gt;.on.aws</c>). Headers arrive
/// lower-cased, repeated headers comma-joined, and cookies in their own array. Fields we do not use
/// (authorizer, pathParameters) are left out on purpose.
/// </summary>
public sealed record HttpApiV2Event
{
    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("routeKey")] public string? RouteKey { get; init; }
    [JsonPropertyName("rawPath")] public string? RawPath { get; init; }
    [JsonPropertyName("rawQueryString")] public string? RawQueryString { get; init; }
    [JsonPropertyName("cookies")] public IReadOnlyList<string>? Cookies { get; init; }
    [JsonPropertyName("headers")] public Dictionary<string, string>? Headers { get; init; }
    [JsonPropertyName("queryStringParameters")] public Dictionary<string, string>? QueryStringParameters { get; init; }
    [JsonPropertyName("stageVariables")] public Dictionary<string, string>? StageVariables { get; init; }
    [JsonPropertyName("requestContext")] public HttpApiV2RequestContext? RequestContext { get; init; }
    [JsonPropertyName("body")] public string? Body { get; init; }
    [JsonPropertyName("isBase64Encoded")] public bool IsBase64Encoded { get; init; }
}

/// <summary><c>requestContext</c> of a 2.0 payload.</summary>
public sealed record HttpApiV2RequestContext
{
    [JsonPropertyName("accountId")] public string? AccountId { get; init; }
    [JsonPropertyName("apiId")] public string? ApiId { get; init; }
    [JsonPropertyName("domainName")] public string? DomainName { get; init; }
    [JsonPropertyName("domainPrefix")] public string? DomainPrefix { get; init; }
    [JsonPropertyName("http")] public HttpApiV2Http? Http { get; init; }
    [JsonPropertyName("requestId")] public string? RequestId { get; init; }
    [JsonPropertyName("routeKey")] public string? RouteKey { get; init; }
    [JsonPropertyName("stage")] public string? Stage { get; init; }
    [JsonPropertyName("time")] public string? Time { get; init; }
    [JsonPropertyName("timeEpoch")] public long TimeEpoch { get; init; }
}

/// <summary><c>requestContext.http</c> of a 2.0 payload.</summary>
public sealed record HttpApiV2Http
{
    [JsonPropertyName("method")] public string? Method { get; init; }
    [JsonPropertyName("path")] public string? Path { get; init; }
    [JsonPropertyName("protocol")] public string? Protocol { get; init; }
    [JsonPropertyName("sourceIp")] public string? SourceIp { get; init; }
    [JsonPropertyName("userAgent")] public string? UserAgent { get; init; }
}

/// <summary>
/// Response for payload 2.0 (HTTP API and Function URL): cookies go in <see cref="Cookies"/>, every other
/// header once in <see cref="Headers"/> (repeated values comma-joined).
/// </summary>
public sealed record HttpApiV2Response
{
    [JsonPropertyName("statusCode")] public int StatusCode { get; init; }
    [JsonPropertyName("headers")] public Dictionary<string, string>? Headers { get; init; }
    [JsonPropertyName("cookies")] public IReadOnlyList<string>? Cookies { get; init; }
    [JsonPropertyName("body")] public string? Body { get; init; }
    [JsonPropertyName("isBase64Encoded")] public bool IsBase64Encoded { get; init; }
}
