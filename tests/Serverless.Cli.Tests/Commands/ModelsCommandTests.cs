using Serverless.Cli.Commands;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Commands;

/// <summary><c>serverless models</c> over the repository's manifests and the verified local store.</summary>
public sealed class ModelsCommandTests
{
    [Fact]
    public async Task Models_ListsEveryModelWithVersionPrecisionSizeAndStorePresence()
    {
        var run = await CliRun.RunAsync(["models", .. CliRun.RepoModels]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["MODEL", "VERSION", "PRECISION", "SIZE", "STORE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("UNAVAILABLE", run.Output);
        var direction = Assert.Single(lines, l => l.StartsWith("text-direction ", StringComparison.Ordinal));
        Assert.Contains("fp32", direction);
        Assert.Contains("present", direction);

        // The OCR models and voice activity serve an int8 version 2 by default and keep fp32 as version 1.
        foreach (var model in new[] { "text-detection", "text-recognition", "voice-activity" })
        {
            var rows = lines.Where(l => l.StartsWith(model + " ", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
            Assert.Equal(2, rows.Count);
            Assert.Equal(["1", "fp32"], rows[0][1..3]);
            Assert.Equal(["2", "(default)", "int8"], rows[1][1..4]);
            Assert.All(rows, r => Assert.Contains("present", r));
        }

        Assert.Contains("565.4 KB", run.Output); // text-direction: 578,966 bytes
        Assert.Contains("10.3 MB", run.Output); // text-recognition fp32: 10,822,323 bytes
        Assert.Contains("2.7 MB", run.Output); // text-recognition int8: 2,866,883 bytes
        Assert.Contains("663.1 KB", run.Output); // voice-activity int8: 678,988 bytes
    }

    [Fact]
    public async Task Models_WithALocalInt8Build_SaysItDiffersFromTheReferenceAndWhy()
    {
        var store = Directory.CreateTempSubdirectory("serverless-local-build-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(store, "text-direction", "1"));
            File.Copy(Serverless.Tests.Shared.RepoPaths.ModelFile("text-direction"), Path.Combine(store, "text-direction", "1", "model.onnx"));
            var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Serverless.Tests.Shared.RepoPaths.CheckedInManifests, "text-direction", "model.json")))!;
            var source = manifest["versions"]![0]!["source"]!.AsObject();
            source["referenceSha256"] = new string('a', 64);
            source["referenceSize"] = 1234;
            source["localBuild"] = "The CPU differs from the reference machine's. Accepted by its accuracy bar: top-1 agreement 100.0 %.";
            File.WriteAllText(Path.Combine(store, "text-direction", "model.json"), manifest.ToJsonString());

            var run = await CliRun.RunAsync(["models", "--models", store, "--store", new Uri(store).AbsoluteUri]);

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("text-direction 1: built on this machine", run.Output);
            Assert.Contains("differs from the reference build (sha256 aaaaaaaaaaaa...)", run.Output);
            Assert.Contains("Accepted by its accuracy bar: top-1 agreement 100.0 %.", run.Output);
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }

    [Fact]
    public async Task Models_EmptyFolder_ExitsWithCode2AndSaysWhatToAdd()
    {
        var empty = Directory.CreateTempSubdirectory("serverless-empty-").FullName;
        try
        {
            var run = await CliRun.RunAsync(["models", "--models", empty, "--store", new Uri(empty).AbsoluteUri]);

            Assert.Equal(ExitCodes.Usage, run.ExitCode);
            Assert.Contains("no models found", run.Error);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Theory]
    [InlineData(512, "512 B")]
    [InlineData(578966, "565.4 KB")]
    [InlineData(10822323, "10.3 MB")]
    public void FormatSize_UsesBinaryUnits(long bytes, string expected) =>
        Assert.Equal(expected, ModelsCommand.FormatSize(bytes));
}
