using System.Text.Json.Serialization;

namespace Serverless.Lambda.Events;

/// <summary>
/// API Gateway REST API proxy integration request, payload format 1.0 (also what an HTTP API sends when its
/// integration is set to 1.0). <see cref="Path"/> is the request path without the stage;
/// <c>requestContext.path</c> includes it. Repeated headers and query parameters arrive in the
/// multi-value maps.
/// </summary>
public sealed record RestApiV1Event
{
    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("resource")] public string? Resource { get; init; }
    [JsonPropertyName("path")] public string? Path { get; init; }
    [JsonPropertyName("httpMethod")] public string? HttpMethod { get; init; }
    [JsonPropertyName("headers")] public Dictionary<string, string>? Headers { get; init; }
    [JsonPropertyName("multiValueHeaders")] public Dictionary<string, List<string>>? MultiValueHeaders { get; init; }
    [JsonPropertyName("queryStringParameters")] public Dictionary<string, string>? QueryStringParameters { get; init; }
    [JsonPropertyName("multiValueQueryStringParameters")] public Dictionary<string, List<string>>? MultiValueQueryStringParameters { get; init; }
    [JsonPropertyName("pathParameters")] public Dictionary<string, string>? PathParameters { get; init; }
    [JsonPropertyName("stageVariables")] public Dictionary<string, string>? StageVariables { get; init; }
    [JsonPropertyName("requestContext")] public RestApiV1RequestContext? RequestContext { get; init; }
    [JsonPropertyName("body")] public string? Body { get; init; }
    [JsonPropertyName("isBase64Encoded")] public bool IsBase64Encoded { get; init; }
}

/// <summary><c>requestContext</c> of a 1.0 payload (the fields we read).</summary>
public sealed record RestApiV1RequestContext
{
    [JsonPropertyName("accountId")] public string? AccountId { get; init; }
    [JsonPropertyName("apiId")] public string? ApiId { get; init; }
    [JsonPropertyName("domainName")] public string? DomainName { get; init; }
    [JsonPropertyName("httpMethod")] public string? HttpMethod { get; init; }
    [JsonPropertyName("path")] public string? Path { get; init; }
    [JsonPropertyName("protocol")] public string? Protocol { get; init; }
    [JsonPropertyName("requestId")] public string? RequestId { get; init; }
    [JsonPropertyName("resourcePath")] public string? ResourcePath { get; init; }
    [JsonPropertyName("stage")] public string? Stage { get; init; }
}

/// <summary>Response for payload 1.0: repeated headers (Set-Cookie above all) go in <see cref="MultiValueHeaders"/>.</summary>
public sealed record RestApiV1Response
{
    [JsonPropertyName("statusCode")] public int StatusCode { get; init; }
    [JsonPropertyName("headers")] public Dictionary<string, string>? Headers { get; init; }
    [JsonPropertyName("multiValueHeaders")] public Dictionary<string, List<string>>? MultiValueHeaders { get; init; }
    [JsonPropertyName("body")] public string? Body { get; init; }
    [JsonPropertyName("isBase64Encoded")] public bool IsBase64Encoded { get; init; }
}
