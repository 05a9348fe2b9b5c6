using System.Diagnostics;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>Runs the built CLI to completion as a child process, with extra or removed environment variables.</summary>
internal static class CliProcess
{
    public static Task<CliRun> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args) => RunInAsync(null, environment, args);

    /// <summary>As <see cref="RunAsync"/>, with the process started in <paramref name="workingDirectory"/> (null for the repository root).</summary>
    public static async Task<CliRun> RunInAsync(string? workingDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = ServeProcess.StartInfo(args);
        start.WorkingDirectory = workingDirectory ?? start.WorkingDirectory;
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }
}
