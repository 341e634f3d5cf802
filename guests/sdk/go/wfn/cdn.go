package wfn

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/taglist"
)

// AddCacheTag adds tags to the current response's entry in the CDN cache,
// as addCacheTag does in @vercel/functions (or a Vercel-Cache-Tag response
// header): a later [InvalidateByTag] or [DangerouslyDeleteByTag] of one
// of them purges the cached response. The response is cached only when
// its headers allow it, such as Vercel-CDN-Cache-Control: public,
// max-age=86400.
//
// Tags are case-sensitive. An empty tag, or one that contains a comma,
// returns abi.EINVAL without asking the host (tags travel joined with
// commas); the host returns abi.ETOOLARGE past 128 tags on a response or
// for a tag over 256 bytes, and abi.ECLOSED once the response is
// complete (after ResponseWriter.Close, or in work after the response).
// No tags is a no-op.
//
// A module that calls it imports cdn_add_cache_tag; so for the others in
// this file.
func AddCacheTag(tags ...string) error {
	return tagCall(hostcall.CDNAddCacheTag, tags)
}

// InvalidateByTag marks every CDN cache entry that carries one of tags
// stale, as invalidateByTag does: the next request gets the stale copy at
// once while the function revalidates it in the background. On Vercel the
// purge reaches the Runtime Cache and the Data Cache too (under wfn, the
// Runtime Cache's entries with those tags become misses). Errors are as
// for [AddCacheTag] but for ECLOSED, plus abi.ETOOLARGE past 128 tags and
// abi.EIO when the cache's backend is down; no tags is a no-op.
func InvalidateByTag(tags ...string) error {
	return tagCall(hostcall.CDNInvalidateByTag, tags)
}

// DangerouslyDeleteByTag deletes every CDN cache entry that carries one
// of tags, as dangerouslyDeleteByTag does. With a
// revalidationDeadlineSeconds of 0 the next request waits for the
// function (beware of a stampede); with a positive one, stale copies are
// served, revalidated in the background, until that many seconds have
// passed, and the entries are deleted after. Errors are as for
// [InvalidateByTag], plus abi.EINVAL for a negative deadline; no tags is
// a no-op.
func DangerouslyDeleteByTag(tags []string, revalidationDeadlineSeconds int) error {
	b, err := taglist.Encode(tags)
	if err != nil || b == nil {
		return err
	}
	return result(hostcall.CDNDeleteByTag(b, int64(revalidationDeadlineSeconds)))
}

// InvalidateBySrcImage marks the CDN's optimised copies of the source
// image src (such as "/images/hero.png") stale, as invalidateBySrcImage
// does. An empty src returns abi.EINVAL.
func InvalidateBySrcImage(src string) error {
	return result(hostcall.CDNInvalidateBySrcImage(src))
}

// DangerouslyDeleteBySrcImage deletes the CDN's optimised copies of the
// source image src, as dangerouslyDeleteBySrcImage does, with the same
// revalidation deadline as [DangerouslyDeleteByTag].
func DangerouslyDeleteBySrcImage(src string, revalidationDeadlineSeconds int) error {
	return result(hostcall.CDNDeleteBySrcImage(src, int64(revalidationDeadlineSeconds)))
}

// tagCall encodes tags and passes them to call.
func tagCall(call func(tags []byte) int32, tags []string) error {
	b, err := taglist.Encode(tags)
	if err != nil || b == nil {
		return err
	}
	return result(call(b))
}
