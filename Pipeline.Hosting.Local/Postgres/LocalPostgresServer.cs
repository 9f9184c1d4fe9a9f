using System.Diagnostics;
using Npgsql;

namespace Pipeline.Hosting.Local.Postgres;

/// <summary>
/// A throwaway PostgreSQL server on a free loopback port, for tests and benchmarks that need
/// a real database without the whole AppHost. Everything it stored is deleted on dispose.
/// </summary>
public sealed class LocalPostgresServer : IAsyncDisposable
{
    private readonly string _binaries;
    private readonly string _dataDirectory;
    private Process? _server;

    private LocalPostgresServer(string binaries, string dataDirectory, int port, string password)
    {
        _binaries = binaries;
        _dataDirectory = dataDirectory;
        Port = port;
        Password = password;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The generated superuser password.</summary>
    public string Password { get; }

    /// <summary>A connection string to <paramref name="database"/> (the <c>postgres</c> database by default).</summary>
    public string ConnectionString(string database = "postgres") => LocalPostgres.ConnectionString(Port, Password, database);

    /// <summary>Initializes a fresh data directory, starts the server and waits until it accepts connections.</summary>
    public static async Task<LocalPostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var binaries = LocalPostgres.FindBinaries();
        var dataDirectory = LocalPostgres.CreateThrowawayDataDirectory();
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await LocalPostgres.InitializeAsync(binaries, dataDirectory, password, cancellationToken);

        var server = new LocalPostgresServer(binaries, dataDirectory, LoopbackPorts.FindFree(), password);
        try
        {
            await server.StartAgainAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a database if it does not exist yet.</summary>
    public async Task CreateDatabaseAsync(string database, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken);
        await LocalPostgresDatabaseCreator.CreateIfMissingAsync(connection, database, cancellationToken);
    }

    /// <summary>
    /// Starts the server (again, after <see cref="StopAsync"/>) on the same data directory and
    /// port, and waits until it accepts connections: an outage and its end, for tests.
    /// </summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        var (command, arguments) = LocalPostgres.ServerCommand(_binaries, _dataDirectory, Port);
        var startInfo = new ProcessStartInfo(command, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        _server = Process.Start(startInfo) ?? throw new InvalidOperationException("postgres did not start.");
        _server.BeginErrorReadLine();
        _server.BeginOutputReadLine();
        await WaitUntilReadyAsync(_server, cancellationToken);
    }

    /// <summary>Stops the server the way an operator's Ctrl+C would (fast shutdown), keeping its data.</summary>
    public async Task StopAsync()
    {
        if (_server is { HasExited: false } server)
        {
            await LocalPostgres.RequestFastShutdownAsync(server.Id);
            await server.WaitForExitAsync();
        }

        _server?.Dispose();
        _server = null;
    }

    /// <summary>Stops the server (fast shutdown) and deletes its data directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            _server?.Kill(entireProcessTree: true);
            _server?.Dispose();
        }

        LocalPostgres.DeleteDataDirectory(_dataDirectory);
    }

    private async Task WaitUntilReadyAsync(Process server, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with code {server.ExitCode} while starting.");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false");
                await connection.OpenAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }
}
