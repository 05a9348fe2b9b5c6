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
        Assert.Contains("2.8 MB", run.Output); // text-recognition int8: 2,947,657 bytes
        Assert.Contains("663.1 KB", run.Output); // voice-activity int8: 678,988 bytes
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
