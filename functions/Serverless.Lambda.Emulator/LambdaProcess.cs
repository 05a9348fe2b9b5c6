using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Serverless.Lambda.Emulator;

/// <summary>
/// The real <c>bootstrap</c> running as a child process against a <see cref="RuntimeApiEmulator"/>, with the
/// environment Lambda would give it. Output lines are captured (the tests read the structured log and EMF
/// lines from stdout). A path ending in .dll runs through <c>dotnet</c> (a framework-dependent build); any
/// other path is executed directly (the published self-contained bootstrap).
/// </summary>
public sealed class LambdaProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LambdaProcess(Process process, DateTimeOffset startedAt)
    {
        _process = process;
        StartedAt = startedAt;
    }

    /// <summary>When the process was started (exec), for cold-start measurements.</summary>
    public DateTimeOffset StartedAt { get; }

    public int ProcessId => _process.Id;

    /// <summary>Completes with the exit code when the process ends.</summary>
    public Task<int> Exited => _exited.Task;

    public IReadOnlyList<string> StandardOutput => _stdout.ToArray();

    public IReadOnlyList<string> StandardError => _stderr.ToArray();

    /// <summary>Optional sink for every output line as it arrives (prefixed "stdout: " or "stderr: ").</summary>
    public Action<string>? OnOutput { get; set; }

    /// <summary>
    /// Starts <paramref name="bootstrapPath"/> with <c>AWS_LAMBDA_RUNTIME_API</c> pointing at
    /// <paramref name="runtimeApiEndpoint"/>, Lambda's usual variables (function name, memory size, region,
    /// task root) unless <paramref name="environment"/> overrides them, and <paramref name="environment"/>.
    /// A null value removes a variable inherited from this process. <paramref name="launcher"/>, when given, is the
    /// command the bootstrap runs under (e.g. <c>qemu-aarch64-static -L /usr/aarch64-linux-gnu</c> for an arm64 build).
    /// </summary>
    public static LambdaProcess Start(string bootstrapPath, string runtimeApiEndpoint, IReadOnlyDictionary<string, string?>? environment = null, Action<string>? onOutput = null, IReadOnlyList<string>? launcher = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(bootstrapPath);
        var fullPath = Path.GetFullPath(bootstrapPath);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"No bootstrap at {fullPath}. Build functions/Serverless.Lambda or run scripts/package-lambda.sh first.", fullPath);
        }

        var isDll = fullPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : isDll ? "dotnet" : fullPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            WorkingDirectory = Path.GetDirectoryName(fullPath)!,
        };
        foreach (var argument in launcher?.Skip(1) ?? [])
        {
            info.ArgumentList.Add(argument);
        }

        if (isDll || launcher is { Count: > 0 })
        {
            info.ArgumentList.Add(fullPath);
        }

        var env = info.Environment;
        env["AWS_LAMBDA_RUNTIME_API"] = runtimeApiEndpoint;
        env["AWS_LAMBDA_FUNCTION_NAME"] = "local";
        env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST";
        env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "1024";
        env["AWS_REGION"] = env.TryGetValue("AWS_REGION", out var region) && !string.IsNullOrEmpty(region) ? region : "us-east-1";
        env["LAMBDA_TASK_ROOT"] = Path.GetDirectoryName(fullPath);
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON";
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    env.Remove(key);
                }
                else
                {
                    env[key] = value;
                }
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var started = DateTimeOffset.UtcNow;
        var lambda = new LambdaProcess(process, started) { OnOutput = onOutput };
        process.OutputDataReceived += (_, e) => lambda.Capture(lambda._stdout, "stdout: ", e.Data);
        process.ErrorDataReceived += (_, e) => lambda.Capture(lambda._stderr, "stderr: ", e.Data);
        process.Exited += (_, _) =>
        {
            // WaitForExit() flushes the asynchronous output readers before the exit is reported.
            process.WaitForExit();
            lambda._exited.TrySetResult(process.ExitCode);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return lambda;
    }

    /// <summary>Peak resident set size so far (VmHWM from /proc), or null when not available.</summary>
    public long? ReadPeakResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            await _exited.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        _process.Dispose();
    }

    private void Capture(ConcurrentQueue<string> lines, string prefix, string? line)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue(line);
        OnOutput?.Invoke(prefix + line);
    }
}
