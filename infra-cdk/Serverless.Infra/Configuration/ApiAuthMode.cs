namespace Serverless.Infra.Configuration;

/// <summary>How the HTTP API authenticates callers (context key <c>apiAuth</c>).</summary>
public enum ApiAuthMode
{
    /// <summary>SigV4-signed requests checked by API Gateway (the default).</summary>
    Iam,
    /// <summary>Bearer JWTs from <c>jwtIssuer</c> for <c>jwtAudience</c>.</summary>
    Jwt,
    /// <summary>Open to the internet; only when chosen explicitly.</summary>
    None,
}
