using Serverless.Quantization.Onnx;

var model = OnnxModelFile.Load(args[0]);
foreach (var n in model.Graph.Node)
{
    if (args.Skip(1).Contains(n.OpType))
    {
        Console.WriteLine($"{n.OpType} {n.Name} in=[{string.Join(",", n.Input)}] out=[{string.Join(",", n.Output)}] attrs={string.Join(";", n.Attribute.Select(a => $"{a.Name}={a.I}/{a.F}/[{string.Join(",", a.Ints)}]"))}");
    }
}
Console.WriteLine("value_info " + model.Graph.ValueInfo.Count);
