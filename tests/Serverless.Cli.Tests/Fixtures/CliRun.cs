using Serverless.Cli.Commands;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>Runs the CLI's command tree in-process with captured stdout/stderr.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    /// <summary>--models and --store pointing at the repository's manifests and verified local store.</summary>
    public static string[] RepoModels => ["--models", RepoPaths.Models, "--store", new Uri(RepoPaths.ModelStore).AbsoluteUri];

    public static Task<CliRun> RunAsync(params string[] args) => RunInAsync(null, null, args);

    /// <summary>As typed in <paramref name="workingDirectory"/> as <paramref name="commandName"/> (null for the defaults).</summary>
    public static async Task<CliRun> RunInAsync(string? workingDirectory, string? commandName, params string[] args)
    {
        TestEnvironment.EnsureOrtLibrary();
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var code = await CliApp.RunAsync(args, new CliConsole(output, error, isTerminal: false, workingDirectory, commandName), timeout.Token);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
