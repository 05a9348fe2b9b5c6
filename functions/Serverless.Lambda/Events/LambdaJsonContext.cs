using System.Text.Json.Serialization;
using Serverless.Lambda.Runtime;

namespace Serverless.Lambda.Events;

/// <summary>
/// Source-generated serializers for every event and response shape, so the bootstrap needs no reflection
/// (fast cold start, trimming-safe). Property names come from the attributes, which follow AWS's documents.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, AllowTrailingCommas = true)]
[JsonSerializable(typeof(HttpApiV2Event))]
[JsonSerializable(typeof(HttpApiV2Response))]
[JsonSerializable(typeof(RestApiV1Event))]
[JsonSerializable(typeof(RestApiV1Response))]
[JsonSerializable(typeof(S3Event))]
[JsonSerializable(typeof(S3TestEvent))]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(SqsBatchResponse))]
[JsonSerializable(typeof(LambdaError))]
[JsonSerializable(typeof(Serverless.Lambda.Batch.ContinuationMarker))]
[JsonSerializable(typeof(Serverless.Lambda.Batch.BatchInvocationResult))]
internal sealed partial class LambdaJsonContext : JsonSerializerContext
{
}
