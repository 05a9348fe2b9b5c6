using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Serverless.Benchmarks;

/// <summary>
/// "--quick [filter]": every [Benchmark] method of the matching classes, each timed alone for about a second
/// after a warm-up, printing the median and minimum per operation. On a shared, loaded machine BDN's mean
/// swings with other processes; the minimum and median of many single operations are steadier, and all rows
/// come from one run, so their ratios compare. "allocated" is this thread's allocations per operation, which
/// include 24 B for boxing the method's return value through reflection (and, for rows of more than 100,000
/// operations, the timing list's growth): 24 B/op means the measured code allocated nothing.
/// </summary>
internal static class QuickRunner
{
    public static void Run(string? filter)
    {
        foreach (var type in typeof(QuickRunner).Assembly.GetTypes().Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null)).OrderBy(t => t.Name))
        {
            var paramsProperty = type.GetProperties().FirstOrDefault(p => p.GetCustomAttribute<ParamsAttribute>() is not null);
            var paramValues = paramsProperty?.GetCustomAttribute<ParamsAttribute>()!.Values ?? [null];
            foreach (var param in paramValues)
            {
                foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
                {
                    var name = $"{type.Name}.{method.GetCustomAttribute<BenchmarkAttribute>()!.Description ?? method.Name}{(param is null ? "" : $" [{param}]")}";
                    if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    var instance = Activator.CreateInstance(type)!;
                    paramsProperty?.SetValue(instance, param);
                    type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null)?.Invoke(instance, null);
                    var action = (Action)(() => method.Invoke(instance, null));
                    Console.WriteLine(Measure(name, action));
                    (instance as IDisposable)?.Dispose();
                }
            }
        }
    }

    private static string Measure(string name, Action action)
    {
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 300)
        {
            action();
        }

        var times = new List<double>(100_000);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var total = Stopwatch.StartNew();
        while (total.ElapsedMilliseconds < 1000 || times.Count < 5)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }

        var allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)times.Count;
        times.Sort();
        return string.Create(CultureInfo.InvariantCulture, $"{name,-75} median {times[times.Count / 2],12:F1} us   min {times[0],12:F1} us   n {times.Count,7}   allocated {allocated,6:F1} B/op");
    }
}
