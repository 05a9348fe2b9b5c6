using System.Reflection;
using Serverless.Core.Protocol;

namespace Serverless.Core.Tests.Protocol;

/// <summary>
/// The JSON number code on the first request's path is precompiled by ReadyToRun only while its generic
/// methods stay instantiable in our version bubble: crossgen2 compiles a generic method's instantiation over a
/// primitive (float, double) only when that type parameter has no constraint at all (not even <c>struct</c> or
/// <c>unmanaged</c>, whose System.ValueType constraint lives in CoreLib). A constraint added back here would
/// silently send the published server's first request to JIT-compiled Tier-0 code again.
/// </summary>
public sealed class ReadyToRunShapeTests
{
    public static TheoryData<Type, string> FloatPathGenerics => new()
    {
        { typeof(FastFloatParser), "Parse" },
        { typeof(FastFloatParser), "Fallback" },
        { typeof(FlatNumberScanner), "Read" },
        { typeof(FlatNumberScanner), "IsFinite" },
        { typeof(JsonNumberFormatter), "WriteArray" },
    };

    [Theory]
    [MemberData(nameof(FloatPathGenerics))]
    public void FloatPathGenericMethod_HasNoConstraintOnItsElementType(Type type, string name)
    {
        var method = type.GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public);
        Assert.NotNull(method);
        Assert.True(method.IsGenericMethodDefinition, $"{type.Name}.{name} is expected to be generic");

        // The element type is the first type parameter (WriteArray's second, the format, is one of our structs).
        var element = method.GetGenericArguments()[0];
        Assert.Empty(element.GetGenericParameterConstraints());
        Assert.Equal(GenericParameterAttributes.None, element.GenericParameterAttributes & GenericParameterAttributes.SpecialConstraintMask);
    }

    [Fact]
    public void FloatPathEntryPoints_AreNonGenericOverloads()
    {
        foreach (var (type, name) in new[] { (typeof(FastFloatParser), "TryParse"), (typeof(FlatNumberScanner), "TryRead") })
        {
            var overloads = type.GetMethods(BindingFlags.Static | BindingFlags.Public).Where(m => m.Name == name).ToArray();
            Assert.NotEmpty(overloads);
            Assert.All(overloads, m => Assert.False(m.IsGenericMethod, $"{type.Name}.{name} has a generic overload"));
        }
    }
}
