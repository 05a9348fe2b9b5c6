using System.CommandLine;
using System.Globalization;
using Serverless.Quantization.Onnx;

namespace Serverless.Quantization.Tool;

/// <summary>`inspect MODEL`: opset, node count and op-type histogram of a model file.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "An .onnx file." };
        var optimized = new Option<bool>("--optimized") { Description = "Count the ops of the graph ONNX Runtime builds (after fusions) instead of the file's." };
        var nodes = new Option<bool>("--nodes") { Description = "Also list every node (index, op, name, inputs -> outputs), to pick names for --exclude-nodes." };
        var command = new Command("inspect", "Print a model's opsets and op-type counts.") { model, optimized, nodes };
        command.SetAction(parse =>
        {
            if (parse.GetValue(optimized))
            {
                var counts = Quantization.OptimizedGraph.OpCounts(Core.Onnx.OnnxSessionFactory.Instance, parse.GetValue(model)!);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"optimized graph: {counts.Values.Sum()} nodes, {Quantization.OptimizedGraph.IntegerOpCount(counts)} integer ops"));
                foreach (var (op, n) in counts.OrderByDescending(kv => kv.Value))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op,-28} {n}"));
                }

                return 0;
            }

            var m = OnnxModelFile.Load(parse.GetValue(model)!);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ir {m.IrVersion}, opsets {string.Join(", ", m.OpsetImport.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)}:{o.Version}"))}, {m.Graph.Node.Count} nodes, {m.Graph.Initializer.Count} initializers"));
            foreach (var g in m.Graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {g.Key,-28} {g.Count()}"));
            }

            // Where the bytes go: initializer payload by element type (names and node protos are the rest).
            foreach (var g in m.Graph.Initializer.GroupBy(t => t.DataType).OrderBy(g => g.Key))
            {
                var payload = g.Sum(t => (long)(t.RawData.Length + (t.FloatData.Count * 4) + (t.Int32Data.Count * 4) + (t.Int64Data.Count * 8)));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  initializers of type {g.Key,-3}: {g.Count(),5} tensors, {payload,10:N0} payload bytes"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  serialized model: {m.CalculateSize():N0} bytes"));
            if (parse.GetValue(nodes))
            {
                for (var i = 0; i < m.Graph.Node.Count; i++)
                {
                    var n = m.Graph.Node[i];
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i,5} {n.OpType,-20} {n.Name} ({string.Join(", ", n.Input)}) -> ({string.Join(", ", n.Output)})"));
                }
            }

            return 0;
        });
        return command;
    }
}
