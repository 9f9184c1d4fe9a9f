namespace Pipeline.Hosting.Local.Postgres;

/// <summary>
/// The local mode's PostgreSQL server: the host's own <c>postgres</c> binary run as an
/// executable on a free loopback port, with a throwaway data directory.
/// </summary>
public sealed class LocalPostgresServerResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, Path.GetDirectoryName(dataDirectory)!), IResourceWithConnectionString
{
    internal const string EndpointName = "tcp";

    /// <summary>The data directory, deleted when the AppHost stops.</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The generated superuser password.</summary>
    public ParameterResource PasswordParameter { get; } = password;

    /// <summary>The server's TCP endpoint on 127.0.0.1.</summary>
    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={PrimaryEndpoint.Property(EndpointProperty.TargetPort)};Username={LocalPostgres.SuperUser};Password={PasswordParameter}");
}

/// <summary>A database on <see cref="LocalPostgresServerResource"/>, created once the server is ready.</summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresServerResource server)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    /// <summary>The database's name on the server.</summary>
    public string DatabaseName { get; } = databaseName;

    /// <inheritdoc />
    public LocalPostgresServerResource Parent { get; } = server;

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}
