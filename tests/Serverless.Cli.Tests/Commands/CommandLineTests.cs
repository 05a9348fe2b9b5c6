using System.CommandLine;
using Serverless.Cli.Commands;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Core.Tests.TestModels;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Commands;

/// <summary>
/// The command line as a person uses it: mistakes are one line that says what is wrong (exit 2, no help dump),
/// messages name the command as typed (<c>./build.sh</c>), --help lists everything, and relative paths are
/// taken from the folder the command was typed in, not the repository root build.sh runs from.
/// </summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("serverless-cli-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task UnknownCommand_PrintsOneLineNamingItAndExitsWith2()
    {
        var run = await CliRun.RunAsync("sevre");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("serverless: unknown command 'sevre'. `serverless --help` lists the commands and their options.", run.Error.TrimEnd());
        Assert.Equal(string.Empty, run.Output);
    }

    [Theory]
    [InlineData("eighty")]
    [InlineData("70000")]
    [InlineData("-1")]
    public async Task Serve_BadPort_PrintsOneLineSayingWhatIsWrongAndExitsWith2(string port)
    {
        var run = await CliRun.RunAsync(["serve", "--port", port, .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        var line = Assert.Single(run.Error.TrimEnd().Split('\n'));
        Assert.Contains($"--port '{port}' is not a port number: use 1-65535, or 0 to pick a free port.", line);
        Assert.DoesNotContain("Usage", run.Output + run.Error);
    }

    [Fact]
    public async Task Messages_NameTheCommandAsTypedThroughBuildSh()
    {
        var run = await CliProcess.RunAsync(new Dictionary<string, string?> { [CliConsole.CommandNameVariable] = "./build.sh" }, "infer", "--input", "request.json");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        var line = Assert.Single(run.Error.TrimEnd().Split('\n'));
        Assert.StartsWith("./build.sh infer: ", line);
        Assert.Contains("--model", line);
        Assert.EndsWith("`./build.sh infer --help` lists its options.", line);
    }

    [Fact]
    public async Task Help_ListsEveryCommandAndEveryOption()
    {
        var run = await CliRun.RunInAsync(null, "./build.sh", "--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.StartsWith("Usage: ./build.sh <command> [options]", run.Output);
        var root = Serverless.Cli.CliApp.BuildRootCommand(new CliConsole(TextWriter.Null, TextWriter.Null, isTerminal: false));
        Assert.NotEmpty(root.Subcommands);
        foreach (var command in root.Subcommands)
        {
            var section = Section(run.Output, command.Name);
            Assert.NotEmpty(command.Options);
            foreach (var option in command.Options.Where(o => !o.Recursive && !o.Hidden))
            {
                Assert.Contains(option.Name, section);
                Assert.All(option.Aliases, alias => Assert.Contains(alias, section));
            }
        }

        Assert.Contains("--verbose", run.Output);
        Assert.Contains("--help", run.Output);
    }

    [Fact]
    public async Task Help_ForOneCommand_ListsItsOptions()
    {
        var run = await CliRun.RunAsync("serve", "--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.StartsWith("Usage: serverless serve [options]", run.Output);
        foreach (var option in new[] { "--port", "--host", "--log-level", "--models", "--store", "--verbose" })
        {
            Assert.Contains(option, run.Output);
        }

        Assert.DoesNotContain("--input", run.Output);
    }

    [Fact]
    public async Task Infer_RelativePaths_ResolveAgainstTheFolderTheCommandWasTypedIn()
    {
        // As build.sh runs it: the process in the repository root, the person's folder passed along.
        var typedIn = Directory.CreateDirectory(Path.Combine(_temp.FullName, "work"));
        await File.WriteAllTextAsync(Path.Combine(_temp.FullName, "request.json"), InferRequests.TextDirection());

        var run = await CliProcess.RunInAsync(
            RepoPaths.Root,
            new Dictionary<string, string?> { [CliConsole.CallerDirectoryVariable] = typedIn.FullName },
            "infer", "--model", "text-direction", "--input", "../request.json", "--output", "response.json");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("\"outputs\"", await File.ReadAllTextAsync(Path.Combine(typedIn.FullName, "response.json")));
        Assert.False(File.Exists(Path.Combine(RepoPaths.Root, "response.json")));
    }

    [Fact]
    public async Task Models_RelativeModelsFolder_ResolvesAgainstTheFolderTheCommandWasTypedIn()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_temp.FullName, "onnx"));
        await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "CamelCase.onnx"), TinyModels.AddSub());
        var typedIn = Directory.CreateDirectory(Path.Combine(_temp.FullName, "work"));

        var run = await CliRun.RunInAsync(typedIn.FullName, null, "models", "--models", "../onnx");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("CamelCase", run.Output);
        Assert.Contains(folder.FullName, run.Output);
    }

    /// <summary>The lines of the top-level help from the command's own line to the next command's.</summary>
    private static string Section(string help, string command)
    {
        var lines = help.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith($"  {command} ", StringComparison.Ordinal));
        Assert.True(start >= 0, $"no '{command}' line in:\n{help}");
        var end = Array.FindIndex(lines, start + 1, l => l.Length > 2 && l[0] == ' ' && l[1] == ' ' && l[2] != ' ');
        return string.Join('\n', lines[start..(end < 0 ? lines.Length : end)]);
    }
}
