namespace Serverless.Infra.Configuration;

/// <summary>
/// A deploy-time configuration mistake (bad context value, missing package or model folder). It is not an
/// <c>InferenceException</c> because it never reaches a request: it stops <c>cdk synth</c> with a message
/// that names the context key, the value given, what is allowed and how to fix it.
/// </summary>
public sealed class InfraConfigException : Exception
{
    public InfraConfigException(string message) : base(message)
    {
    }

    public InfraConfigException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public InfraConfigException() : base("Invalid CDK configuration.")
    {
    }
}
