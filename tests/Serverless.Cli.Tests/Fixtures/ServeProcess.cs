using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// The built CLI running <c>serve</c> as a child process, the most honest form of an end-to-end test:
/// its own process, its own environment, its own port (--port 0, read back from the "Listening on" line).
/// Disposal sends SIGTERM and waits for the graceful exit, killing the process only as a last resort.
/// </summary>
internal sealed partial class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServeProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>When the process was started, as a Stopwatch timestamp.</summary>
    public long StartedAt { get; private set; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The CLI assembly copied next to the tests by the project reference.</summary>
    public static string CliAssembly => Path.Combine(AppContext.BaseDirectory, "serverless.dll");

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        start.ArgumentList.Add(CliAssembly);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[TestEnvironment.OrtLibraryVariable] = RepoPaths.OrtLibrary;
        start.Environment["MODEL_STORE"] = new Uri(RepoPaths.ModelStore).AbsoluteUri;
        start.Environment["SERVERLESS_MODELS_DIR"] = RepoPaths.Models;
        start.Environment["DOTNET_NOLOGO"] = "1";
        return start;
    }

    /// <summary>Starts <c>serverless serve --port 0 [args]</c> and returns once it prints its address.</summary>
    public static Task<ServeProcess> StartAsync(params string[] args) => StartAsync(new Dictionary<string, string?>(), null, args);

    /// <summary>As <see cref="StartAsync(string[])"/>, with environment variables set (or removed, for null values).</summary>
    public static async Task<ServeProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, string? workingDirectory, params string[] args)
    {
        var start = StartInfo(["serve", "--port", "0", .. args]);
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

        var startedAt = Stopwatch.GetTimestamp();
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var serve = new ServeProcess(process) { StartedAt = startedAt };
        process.OutputDataReceived += (_, e) => serve.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => serve.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(
            _ => serve._listening.TrySetException(new InvalidOperationException($"serve exited with {process.ExitCode} before listening:\n{serve.Output}")),
            TaskScheduler.Default);

        try
        {
            serve.BaseAddress = await serve._listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }

        return serve;
    }

    /// <summary>Peak resident set size of the process so far (VmHWM from /proc), in KiB.</summary>
    public long PeakRssKib()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("VmHWM not found in /proc/<pid>/status");
    }

    /// <summary>Sends SIGTERM and returns the exit code of the graceful shutdown.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
        }

        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await TerminateAsync(TimeSpan.FromSeconds(15));
            }
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"^Listening on (http://\S+)")]
    private static partial Regex ListeningLine();
}
