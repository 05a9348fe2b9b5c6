namespace Serverless.Lambda.Tests.Events;

/// <summary>Event payloads shaped like the samples in AWS's documentation (API Gateway, Function URLs, S3, SQS).</summary>
internal static class EventSamples
{
    /// <summary>HTTP API payload 2.0 (named stage "prod", so rawPath carries the stage).</summary>
    public static string HttpApiV2(string method, string rawPath, string? body, bool base64 = false, string stage = "prod", string contentType = "application/json", string domain = "r3pmxmplak.execute-api.us-east-2.amazonaws.com") => $$"""
    {
      "version": "2.0",
      "routeKey": "ANY /{proxy+}",
      "rawPath": "{{rawPath}}",
      "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
      "cookies": ["cookie1", "cookie2"],
      "headers": { "content-type": "{{contentType}}", "header1": "value1", "header2": "value1,value2" },
      "queryStringParameters": { "parameter1": "value1,value2", "parameter2": "value" },
      "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "{{domain}}",
        "domainPrefix": "id",
        "http": { "method": "{{method}}", "path": "{{rawPath}}", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "agent" },
        "requestId": "id",
        "routeKey": "ANY /{proxy+}",
        "stage": "{{stage}}",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390
      },
      {{(body is null ? "" : $"\"body\": {System.Text.Json.JsonSerializer.Serialize(body)},")}}
      "pathParameters": { "proxy": "x" },
      "isBase64Encoded": {{(base64 ? "true" : "false")}},
      "stageVariables": { "stageVariable1": "value1" }
    }
    """;

    /// <summary>Function URL request: payload 2.0 with a *.lambda-url.* domain and the $default stage.</summary>
    public static string FunctionUrl(string method, string rawPath, string? body, bool base64 = false, string contentType = "application/json") =>
        HttpApiV2(method, rawPath, body, base64, "$default", contentType, "abcdefg.lambda-url.us-east-1.on.aws");

    /// <summary>REST API proxy integration, payload 1.0 (path without the stage, requestContext.path with it).</summary>
    public static string RestApiV1(string method, string path, string? body, bool base64 = false, string stage = "prod", string contentType = "application/json") => $$"""
    {
      "version": "1.0",
      "resource": "/{proxy+}",
      "path": "{{path}}",
      "httpMethod": "{{method}}",
      "headers": { "Content-Type": "{{contentType}}", "Header1": "value1" },
      "multiValueHeaders": { "Content-Type": ["{{contentType}}"], "Header1": ["value1"], "Header2": ["value1", "value2"] },
      "queryStringParameters": { "parameter1": "value1", "parameter2": "value" },
      "multiValueQueryStringParameters": { "parameter1": ["value1", "value2"], "parameter2": ["value"] },
      "requestContext": {
        "accountId": "123456789012",
        "apiId": "id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "httpMethod": "{{method}}",
        "path": "/{{stage}}{{path}}",
        "protocol": "HTTP/1.1",
        "requestId": "id=",
        "resourcePath": "/{proxy+}",
        "stage": "{{stage}}"
      },
      "pathParameters": { "proxy": "x" },
      "stageVariables": null,
      {{(body is null ? "" : $"\"body\": {System.Text.Json.JsonSerializer.Serialize(body)},")}}
      "isBase64Encoded": {{(base64 ? "true" : "false")}}
    }
    """;

    /// <summary>S3 ObjectCreated:Put notification (event version 2.1); <paramref name="encodedKey"/> is URL-encoded as S3 sends it.</summary>
    public static string S3Put(string bucket, string encodedKey, string eTag = "0123456789abcdef0123456789abcdef", long size = 1024) => $$"""
    {
      "Records": [
        {
          "eventVersion": "2.1",
          "eventSource": "aws:s3",
          "awsRegion": "us-east-1",
          "eventTime": "2026-11-21T12:00:00.000Z",
          "eventName": "ObjectCreated:Put",
          "userIdentity": { "principalId": "AWS:AIDAINPONIXQXHT3IKHL2" },
          "requestParameters": { "sourceIPAddress": "205.255.255.255" },
          "responseElements": { "x-amz-request-id": "D82B88E5F771F645", "x-amz-id-2": "vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo=" },
          "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "828aa6fc-f7b5-4305-8584-487c791949c1",
            "bucket": { "name": "{{bucket}}", "ownerIdentity": { "principalId": "A3I5XTEXAMAI3E" }, "arn": "arn:aws:s3:::{{bucket}}" },
            "object": { "key": "{{encodedKey}}", "size": {{size}}, "eTag": "{{eTag}}", "sequencer": "0055AED6DCD90281E5" }
          }
        }
      ]
    }
    """;

    /// <summary>The message S3 sends when a notification configuration is created.</summary>
    public static string S3TestEvent(string bucket) => $$"""
    {"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-21T12:00:00.000Z","Bucket":"{{bucket}}","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}
    """;

    /// <summary>An SQS event whose messages carry <paramref name="bodies"/> (message ids "m0", "m1", ...).</summary>
    public static string Sqs(params string[] bodies)
    {
        var records = bodies.Select((body, i) => $$"""
        {
          "messageId": "m{{i}}",
          "receiptHandle": "MessageReceiptHandle",
          "body": {{System.Text.Json.JsonSerializer.Serialize(body)}},
          "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "1523232000000", "SenderId": "123456789012", "ApproximateFirstReceiveTimestamp": "1523232000001" },
          "messageAttributes": {},
          "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
          "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:MyQueue",
          "awsRegion": "us-east-1"
        }
        """);
        return "{\"Records\":[" + string.Join(",", records) + "]}";
    }
}
