using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using Serverless.Infra.Stacks;

namespace Serverless.Infra.Tests.Fixtures;

/// <summary>
/// One synthesized stack: the CDK assertions <see cref="Template"/> and the same CloudFormation JSON as a
/// <see cref="JsonDocument"/> for walking every resource. Synthesis starts jsii's node process and takes
/// seconds, so fixtures build one of these and share it across a test class.
/// </summary>
public sealed class SynthesizedStack : IDisposable
{
    private SynthesizedStack(ServerlessStack stack, Template template, JsonDocument json, string outDir)
    {
        Stack = stack;
        Template = template;
        Json = json;
        OutDir = outDir;
    }

    public ServerlessStack Stack { get; }

    public Template Template { get; }

    public JsonDocument Json { get; }

    public string OutDir { get; }

    public JsonElement Resources => Json.RootElement.GetProperty("Resources");

    public static SynthesizedStack Synthesize(TestWorkspace workspace, IDictionary<string, object> context)
    {
        var outDir = Path.Combine(workspace.Root, "cdk.out-" + Guid.NewGuid().ToString("N")[..8]);
        var app = new App(new AppProps { Context = context, Outdir = outDir });
        var stack = ServerlessStack.Create(app, workspace.Root);
        var assembly = app.Synth();
        var templatePath = assembly.GetStackArtifact(stack.ArtifactId).TemplateFullPath;
        var json = JsonDocument.Parse(File.ReadAllText(templatePath));
        var template = Template.FromString(json.RootElement.GetRawText());
        return new SynthesizedStack(stack, template, json, outDir);
    }

    /// <summary>Resources of one CloudFormation type, as (logical id, properties).</summary>
    public IEnumerable<(string Id, JsonElement Properties)> OfType(string type)
    {
        foreach (var resource in Resources.EnumerateObject())
        {
            if (resource.Value.GetProperty("Type").GetString() == type)
            {
                yield return (resource.Name, resource.Value.TryGetProperty("Properties", out var p) ? p : default);
            }
        }
    }

    public JsonElement Resource(string logicalId) => Resources.GetProperty(logicalId);

    public SortedDictionary<string, int> CountByType()
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var resource in Resources.EnumerateObject())
        {
            var type = resource.Value.GetProperty("Type").GetString()!;
            counts[type] = counts.GetValueOrDefault(type) + 1;
        }

        return counts;
    }

    public void Dispose() => Json.Dispose();
}
