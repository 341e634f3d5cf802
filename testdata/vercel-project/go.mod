module example.com/vercel-project

go 1.24
