using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Ui;

/// <summary>
/// The page's web server (Kestrel): the page and its script and style from the assembly's resources,
/// <c>/api/status</c> (the <c>mesh status --json</c> shape) and <c>/api/view</c> (what the page draws).
/// Read-only: GET and HEAD only. With a token, every request must carry it (<see cref="TokenGate"/>).
/// </summary>
internal sealed class UiServer : IAsyncDisposable
{
    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new(StringComparer.Ordinal)
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/mesh-ui.js"] = ("mesh-ui.js", "text/javascript; charset=utf-8"),
        ["/mesh-ui.css"] = ("mesh-ui.css", "text/css; charset=utf-8"),
    };

    private readonly WebApplication _app;

    private UiServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where it listens, with the port it got (for port 0).</summary>
    public Uri Address { get; }

    /// <exception cref="Local.MeshCommandException">The address cannot be listened on (exit code 2).</exception>
    public static async Task<UiServer> StartAsync(ListenAddress listen, string? token, MeshMonitor monitor, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(listen.EndPoint));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var assets = Assets.ToDictionary(a => a.Key, a => (Body: Resource(a.Value.Resource), a.Value.ContentType), StringComparer.Ordinal);
        app.Run(context => ServeAsync(context, token, monitor, assets));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new Local.MeshCommandException($"cannot listen on {listen}: {e.Message} (choose another with --listen host:port; port 0 picks a free one).", 2);
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new UiServer(app, new Uri(bound.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal).Replace("://[::]:", "://[::1]:", StringComparison.Ordinal) + "/"));
    }

    private static async Task ServeAsync(HttpContext context, string? token, MeshMonitor monitor, Dictionary<string, (byte[] Body, string ContentType)> assets)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }

        var queryToken = request.Query["token"].FirstOrDefault();
        var verdict = TokenGate.Check(token, request.Headers.Authorization.FirstOrDefault(), queryToken, request.Cookies[TokenGate.CookieName]);
        if (verdict == TokenGate.Verdict.Refused)
        {
            response.StatusCode = StatusCodes.Status401Unauthorized;
            response.Headers.WWWAuthenticate = "Bearer";
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync(queryToken is null && !request.Headers.ContainsKey("Authorization")
                ? "401: this mesh ui needs its token: open the page with ?token=<the --token it was given>, or send Authorization: Bearer <token>.\n"
                : "401: wrong token.\n");
            return;
        }
        if (verdict == TokenGate.Verdict.AllowedSetCookie)
        {
            response.Cookies.Append(TokenGate.CookieName, queryToken!, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
            // The page's address without the token, so it does not stay in the address bar and history.
            if (request.Path == "/")
            {
                response.StatusCode = StatusCodes.Status303SeeOther;
                response.Headers.Location = "/";
                return;
            }
        }

        switch (request.Path.Value)
        {
            case "/api/status":
                await WriteJsonAsync(response, monitor.StatusJson);
                return;
            case "/api/view":
                await WriteJsonAsync(response, monitor.ViewJson);
                return;
        }
        if (!assets.TryGetValue(request.Path.Value ?? "/", out var asset))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Body.Length;
        if (HttpMethods.IsGet(request.Method)) await response.Body.WriteAsync(asset.Body);
    }

    private static async Task WriteJsonAsync(HttpResponse response, string? json)
    {
        if (json is null)
        {
            // Before the first collection has finished.
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.Headers.RetryAfter = "2";
            return;
        }
        response.ContentType = "application/json; charset=utf-8";
        await response.WriteAsync(json);
    }

    private static byte[] Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Mesh.Client.Ui.Assets.{name}")
            ?? throw new InvalidOperationException($"the page's resource {name} is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(deadline.Token);
        await _app.DisposeAsync();
    }
}
