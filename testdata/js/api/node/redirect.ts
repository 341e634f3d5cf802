// res.redirect(url) is a 307; res.redirect(status, url) another status.
export default function handler(req: any, res: any) {
  if (req.query.permanent) res.redirect(308, '/elsewhere');
  else res.redirect('/elsewhere');
}
