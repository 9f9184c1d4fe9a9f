using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Pipeline.AppHost.Postgres;

namespace Pipeline.Tests.Sink;

/// <summary>
/// A throwaway PostgreSQL that, unlike <see cref="LocalPostgresServer"/>, can be stopped and
/// started again on the same data directory and port, for outage tests. Built from the same
/// <see cref="LocalPostgres"/> pieces; stopping is PostgreSQL's fast shutdown (open
/// transactions roll back, connections drop).
/// </summary>
internal sealed class RestartablePostgres : IAsyncDisposable
{
    private readonly string _binaries;
    private readonly string _dataDirectory;
    private Process? _server;

    private RestartablePostgres(string binaries, string dataDirectory, int port, string password)
    {
        _binaries = binaries;
        _dataDirectory = dataDirectory;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string Password { get; }

    public string ConnectionString(string database = "postgres") => LocalPostgres.ConnectionString(Port, Password, database);

    public static async Task<RestartablePostgres> StartAsync()
    {
        var binaries = LocalPostgres.FindBinaries();
        var dataDirectory = LocalPostgres.CreateThrowawayDataDirectory();
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await LocalPostgres.InitializeAsync(binaries, dataDirectory, password, CancellationToken.None);
        var server = new RestartablePostgres(binaries, dataDirectory, LocalPostgres.FindFreeLoopbackPort(), password);
        await server.StartAgainAsync();
        await using var connection = new NpgsqlConnection(server.ConnectionString());
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE DATABASE pipelinedb", connection);
        await create.ExecuteNonQueryAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var (command, arguments) = LocalPostgres.ServerCommand(_binaries, _dataDirectory, Port);
        _server = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException("postgres did not start.");
        _server.BeginErrorReadLine();
        _server.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_server.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with code {_server.ExitCode} while starting.");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false");
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task StopAsync()
    {
        if (_server is { HasExited: false } server)
        {
            using var kill = Process.Start("kill", ["-INT", server.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync();
            await server.WaitForExitAsync();
        }

        _server?.Dispose();
        _server = null;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            _server?.Kill(entireProcessTree: true);
        }

        LocalPostgres.DeleteDataDirectory(_dataDirectory);
    }
}
