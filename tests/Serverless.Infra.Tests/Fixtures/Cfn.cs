using System.Text.Json;

namespace Serverless.Infra.Tests.Fixtures;

/// <summary>Small readers for CloudFormation intrinsics in a synthesized template.</summary>
public static class Cfn
{
    /// <summary>The logical id of <c>{"Ref": id}</c>, or null when the value is not a Ref.</summary>
    public static string? Ref(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object && value.TryGetProperty("Ref", out var id) ? id.GetString() : null;

    /// <summary>The logical id of <c>{"Fn::GetAtt": [id, attr]}</c>, or null.</summary>
    public static string? GetAttId(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object && value.TryGetProperty("Fn::GetAtt", out var att) ? att[0].GetString() : null;

    /// <summary>Every element of a value that may be a single item or an array (IAM Action/Resource).</summary>
    public static IEnumerable<JsonElement> Items(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [value];

    /// <summary>The literal suffix of a resource ARN built with Fn::Join (e.g. "/models/x/*"), or the string itself.</summary>
    public static string LiteralTail(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString()!;
        }

        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("Fn::Join", out var join))
        {
            var parts = join[1];
            var last = parts[parts.GetArrayLength() - 1];
            return last.ValueKind == JsonValueKind.String ? last.GetString()! : "";
        }

        return "";
    }

    public static Dictionary<string, string> Environment(JsonElement functionProperties)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (functionProperties.TryGetProperty("Environment", out var env))
        {
            foreach (var variable in env.GetProperty("Variables").EnumerateObject())
            {
                result[variable.Name] = variable.Value.ValueKind == JsonValueKind.String ? variable.Value.GetString()! : variable.Value.GetRawText();
            }
        }

        return result;
    }
}
