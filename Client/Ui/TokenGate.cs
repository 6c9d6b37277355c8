using System.Security.Cryptography;
using System.Text;

namespace Mesh.Client.Ui;

/// <summary>
/// Who may see the page when <c>mesh ui</c> has a token: a request carrying it as a bearer header, as the
/// cookie the page sets, or as <c>?token=</c> (the first load of a link; it then gets the cookie).
/// </summary>
public static class TokenGate
{
    public const string CookieName = "mesh_ui_token";

    public enum Verdict
    {
        Allowed,
        /// <summary>Allowed through <c>?token=</c>: set the cookie so the page's own requests carry it.</summary>
        AllowedSetCookie,
        Refused,
    }

    /// <param name="expected">The token mesh ui was given; null or empty: no token needed.</param>
    public static Verdict Check(string? expected, string? authorization, string? queryToken, string? cookie)
    {
        if (string.IsNullOrEmpty(expected)) return Verdict.Allowed;
        const string bearer = "Bearer ";
        if (authorization is not null && authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && Same(expected, authorization[bearer.Length..].Trim()))
            return Verdict.Allowed;
        if (Same(expected, cookie)) return Verdict.Allowed;
        return Same(expected, queryToken) ? Verdict.AllowedSetCookie : Verdict.Refused;
    }

    // Constant time in the token's content, so a guess cannot be refined by timing the answer.
    private static bool Same(string expected, string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(given));
}
