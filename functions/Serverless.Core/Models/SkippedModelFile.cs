namespace Serverless.Core.Models;

/// <summary>An .onnx file in a folder of bare models that is not served because its name cannot be a model name; <paramref name="Reason"/> states the rule it breaks.</summary>
public sealed record SkippedModelFile(string File, string Reason);
